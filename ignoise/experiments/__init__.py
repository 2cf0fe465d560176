"""The papers' experiments that are grids of ordinary runs: GAL's ablation tables (Tables 4 and
5, Figure 4), its agreement curve (Figure 1) and the GSS poster's gradient-bias table. Each
writes Markdown tables and PNG plots; the recipes in ``recipes/`` call them with the papers'
configs."""

__all__ = ["gal_ablations", "agreement_curve", "gradient_bias_table", "markdown", "runs"]
