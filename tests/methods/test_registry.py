"""The method registry, the methods' config classes (cross-field checks) and ``train``."""

import json
from dataclasses import dataclass

import pytest

from ignoise.config import ConfigError, spec_of
from ignoise.methods import (
    GAL_VARIANTS,
    METHODS,
    CEConfig,
    CoLearningConfig,
    CoTeachingConfig,
    CoTeachingPlusConfig,
    DecouplingConfig,
    DivideMixConfig,
    ELRConfig,
    ELRPlusConfig,
    FDivConfig,
    FineConfig,
    GALConfig,
    GCEConfig,
    GSSCEConfig,
    GSSSSLConfig,
    JoCoRConfig,
    LabelSmoothingConfig,
    MentorNetConfig,
    SCEConfig,
    ScreeningConfig,
    get_method,
    register,
    train,
)

# -- registry ----------------------------------------------------------------------------


def test_every_method_is_registered_with_its_config():
    assert {name: spec.config for name, spec in METHODS.items()} == {
        "ce": CEConfig, "gal": GALConfig, "dividemix": DivideMixConfig,
        "gss_ssl": GSSSSLConfig, "gss_ce": GSSCEConfig, "screening": ScreeningConfig,
        "gce": GCEConfig, "sce": SCEConfig, "label_smoothing": LabelSmoothingConfig,
        "coteaching": CoTeachingConfig, "coteaching_plus": CoTeachingPlusConfig,
        "jocor": JoCoRConfig, "decoupling": DecouplingConfig,
        "elr": ELRConfig, "elr_plus": ELRPlusConfig,
        "mentornet": MentorNetConfig, "colearning": CoLearningConfig,
        "fdiv": FDivConfig, "fine": FineConfig,
    }
    for name, spec in METHODS.items():
        assert spec.name == name and spec.description and callable(spec.build)
        assert get_method(name) is spec


def test_register_an_existing_name_raises_and_keeps_the_first():
    before = METHODS["gal"]
    with pytest.raises(ValueError, match="method 'gal' is already registered"):
        register("gal", CEConfig, description="another")
    assert METHODS["gal"] is before


def test_register_and_use_a_new_method():
    @dataclass
    class MyConfig(CEConfig):
        pass

    try:
        @register("my_test_method", MyConfig, description="a test")
        def build(run, data, cfg, model=None):
            return "parts"

        spec = get_method("my_test_method")
        assert (spec.config, spec.build, spec.description) == (MyConfig, build, "a test")
        assert spec.default_config is None
    finally:
        METHODS.pop("my_test_method", None)


def test_unknown_method_names_the_closest_and_the_list():
    with pytest.raises(ConfigError) as err:
        get_method("gall")
    assert str(err.value) == ("unknown method 'gall' (did you mean 'gal'?): expected one of "
                              "ce, colearning, coteaching, coteaching_plus, decoupling, "
                              "dividemix, elr, elr_plus, fdiv, fine, gal, gce, gss_ce, "
                              "gss_ssl, jocor, label_smoothing, mentornet, sce, screening")
    with pytest.raises(ConfigError, match=r"^unknown method 'zzz': expected one of"):
        get_method("zzz")


# -- the methods' configs ---------------------------------------------------------------

def test_paper_defaults():
    gal = GALConfig()
    assert (gal.lr, gal.warmup_epochs, gal.agreement_threshold, gal.pseudo_label_threshold,
            gal.lr_milestones, gal.variant) == (0.06, 80, 0.4, 0.8, [80, 150], "gal")
    assert set(spec_of(GALConfig)["variant"].type.__args__) == set(GAL_VARIANTS)
    # The Co-teaching family: the Adam of the Co-teaching, Co-teaching+ and JoCoR codes.
    for config in (CoTeachingConfig, CoTeachingPlusConfig, JoCoRConfig, MentorNetConfig):
        cfg = config()
        assert (cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.lr_decay_start, cfg.epochs,
                cfg.batch_size, cfg.num_gradual) == ("adam", 0.001, 0.0, 80, 200, 128, 10)
    assert not hasattr(DecouplingConfig(), "optimizer")  # Decoupling's SGD
    dm = DivideMixConfig(noise="sym", noise_rate=0.5)
    assert (dm.epochs, dm.batch_size, dm.warmup_epochs, dm.lr_milestones) == (300, 64, 10, [150])
    assert (dm.temperature, dm.alpha, dm.effective_p_threshold()) == (0.5, 4.0, 0.5)
    # DivideMix's code at 90% symmetric noise: tau 0.6, 5 epochs of losses, lambda_u 50.
    dm90 = DivideMixConfig(noise="sym", noise_rate=0.9)
    assert (dm90.effective_p_threshold(), dm90.effective_loss_history(),
            dm90.effective_lambda_u()) == (0.6, 5, 50.0)
    assert (dm.effective_loss_history(), dm.alternate, dm.test_ensemble) == (1, "epoch", "logits")
    assert DivideMixConfig(noise="sym", noise_rate=0.9, p_threshold=0.5).effective_p_threshold() \
        == 0.5
    # DivideMix's symmetric noise redraws among all K classes; ignoise's default excludes the
    # true one; asymmetric kinds take no such option. The penalty is on for both class-
    # dependent kinds.
    assert dm.effective_noise_options() == {"include_true_class": True}
    assert DivideMixConfig(noise="sym", noise_rate=0.5, symmetric_includes_true_class=False,
                           ).effective_noise_options() == {"include_true_class": False}
    assert DivideMixConfig(noise="asym", noise_rate=0.4).effective_noise_options() == {}
    assert all(DivideMixConfig(noise=kind, noise_rate=0.4, lambda_u=0.0)
               .effective_confidence_penalty() for kind in ("asym", "pairflip"))
    assert not dm.effective_confidence_penalty()


def test_dividemix_lambda_u_from_the_table_or_set():
    assert DivideMixConfig(noise="sym", noise_rate=0.5).effective_lambda_u() == 25.0
    assert DivideMixConfig(noise="asym", noise_rate=0.4).effective_lambda_u() == 0.0
    assert DivideMixConfig(noise="sym", noise_rate=0.3, lambda_u=7).effective_lambda_u() == 7.0
    with pytest.raises(ConfigError) as err:
        DivideMixConfig(noise="sym", noise_rate=0.3)
    assert str(err.value) == ("lambda_u_by_noise has no entry for sym noise at rate 0.3 (it "
                              "holds sym: [0.2, 0.5, 0.8, 0.9]): set lambda_u")
    with pytest.raises(ConfigError, match="lambda_u_by_noise.sym holds 'x': 7"):
        DivideMixConfig(noise="sym", noise_rate=0.3, lambda_u_by_noise={"sym": {"x": 7}})
    table = {"sym": {"0.3": "7"}}  # as a YAML file may spell it
    assert DivideMixConfig(noise="sym", noise_rate=0.3,
                           lambda_u_by_noise=table).effective_lambda_u() == 7.0


@pytest.mark.parametrize("loader", ["torch", "gpu", "ffcv"])
def test_dividemix_takes_every_loader(loader):
    # Every loader gives the two augmented views (tests/data/loaders/test_two_view_*.py).
    assert DivideMixConfig(loader=loader, lambda_u=1).loader == loader


@pytest.mark.parametrize("noise, expected", [
    ("asym", True), ("pairflip", True), ("sym", False), ("instance", False), ("none", False)])
def test_confidence_penalty_auto(noise, expected):
    cfg = DivideMixConfig(noise=noise, noise_rate=0.4 if noise != "none" else 0.0, lambda_u=0)
    assert cfg.confidence_penalty == "auto"
    assert cfg.effective_confidence_penalty() is expected
    assert cfg.replace(confidence_penalty=not expected).effective_confidence_penalty() is (
        not expected)


def test_confidence_penalty_takes_a_bool_or_auto_only():
    with pytest.raises(ConfigError, match="confidence_penalty = 'sometimes'"):
        DivideMixConfig(lambda_u=0, confidence_penalty="sometimes")


def test_warmup_epochs_against_epochs():
    assert GALConfig(warmup_epochs=10, epochs=10).warmup_epochs == 10  # CE throughout: fine
    assert ScreeningConfig(warmup_epochs=9, epochs=10).warmup_epochs == 9
    for cls, extra in ((ScreeningConfig, {}), (DivideMixConfig, {"lambda_u": 0}),
                       (GSSSSLConfig, {"lambda_u": 0})):
        for warmup in (10, 11):
            with pytest.raises(ConfigError) as err:
                cls(warmup_epochs=warmup, epochs=10, **extra)
            assert str(err.value) == f"warmup_epochs = {warmup} must be below epochs = 10"


def test_method_configs_check_the_shared_fields_too():
    with pytest.raises(ConfigError, match=r"GSSCEConfig: lr_milestones = \[3, 2\]"):
        GSSCEConfig(lr_milestones=[3, 2])
    with pytest.raises(ConfigError, match=r"pool_momentum = 1.0 is outside \[0, 1\)"):
        GSSCEConfig(pool_momentum=1.0)
    with pytest.raises(ConfigError, match="gss_switched = \\['labelled'\\]"):
        GSSSSLConfig(lambda_u=0, gss_switched=["labelled"])
    with pytest.raises(ConfigError, match=r"agreement_threshold = -1.5 is outside \[-1, 1\]"):
        GALConfig(agreement_threshold=-1.5)


# -- train -------------------------------------------------------------------------------

def test_train_ce_one_epoch_on_digits(tmp_path):
    cfg = CEConfig(dataset="digits", model="digits_cnn", epochs=1, batch_size=64,
                   output_dir=str(tmp_path), progress=False, cpu=True)
    results = train("ce", cfg)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written == results
    assert written["method"] == "ce" and written["epochs"] == 1
    assert written["config"]["batch_size"] == 64
    assert written["config"]["batch_size_per_process"] == 64
    assert written["config"]["model"] == "digits_cnn" and written["config"]["lr"] == 0.02
    assert len(written["history"]) == 1
    # One epoch of CE on the clean digits, seed 0: 0.9361 measured (twice, identical; 0.91 to
    # 0.94 over seeds 0-2), by this test's call in one process with one thread.
    assert written["test_acc_last"] == pytest.approx(0.9361, abs=0.03)
    assert written["test_acc_best"] == written["test_acc_last"]


def test_train_takes_the_methods_own_config():
    with pytest.raises(TypeError, match="method 'ce' takes a CEConfig, got GALConfig"):
        train("ce", GALConfig())
    # another method's config that happens to subclass CEConfig is refused too
    with pytest.raises(TypeError, match="method 'ce' takes a CEConfig, got ScreeningConfig"):
        train("ce", ScreeningConfig())
    with pytest.raises(TypeError, match="'dividemix' takes a DivideMixConfig, got GSSSSLConfig"):
        train("dividemix", GSSSSLConfig(lambda_u=0))
    with pytest.raises(ConfigError, match="unknown method 'cee'"):
        train("cee", CEConfig())
