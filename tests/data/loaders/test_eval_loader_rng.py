"""An evaluation pass must not move torch's global generator: a handler's extra pass (GSS-SSL's
per-epoch predictions) or another evaluation interval would otherwise change training's later
random draws (mixup weights, dropout), and two runs that differ only there would diverge."""

import torch

from ignoise.data import make_eval_loader


def _draw_after(loader_passes) -> torch.Tensor:
    torch.manual_seed(0)
    loader_passes()
    return torch.rand(3)


def test_eval_passes_leave_the_global_generator_alone():
    data = [{"x": torch.tensor([float(i)]), "index": i} for i in range(10)]
    loader = make_eval_loader(data, batch_size=4)
    untouched = _draw_after(lambda: None)
    after_two = _draw_after(lambda: [list(loader) for _ in range(2)])
    assert torch.equal(after_two, untouched)
    # The same passes through a plain DataLoader do move it (what the loader's generator avoids).
    plain = torch.utils.data.DataLoader(data, batch_size=4)
    assert not torch.equal(_draw_after(lambda: list(plain)), untouched)
    # Evaluation order is unchanged: every sample once, in order.
    assert torch.cat([b["index"] for b in loader]).tolist() == list(range(10))

