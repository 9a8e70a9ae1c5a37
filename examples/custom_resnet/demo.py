"""`make demo`: the custom-models story end to end, on an embedded loopback Hub (`python examples/custom_resnet/demo.py`
from any directory).

1. A user's package, `resnet_model/` next to this script: a config and PyTorch, TensorFlow and Flax models.
2. ResNet-50d: config, PyTorch model, weights copied from timm's own `resnet50d` (built locally, seeded).
3. The config and the three model classes are registered for the Auto classes; the model is pushed to the local
   Hub with its code; the config is then pushed once more, changed, to show that a pinned revision does not move.
4. A fresh process that imports only `pretrained` loads the pinned revision by repo id through
   `AutoModelForImageClassification`, `TFAutoModelForImageClassification` and `FlaxAutoModelForImageClassification`
   with `trust_remote_code=True`, and prints the three backends' top-5 logits side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ID = "demo/custom-resnet50d"
EXAMPLE_DIR = Path(__file__).resolve().parent  # holds the user's package, resnet_model/

LOAD_SCRIPT = """
import json, sys
import numpy as np
import pretrained

repo, revision, image_path = sys.argv[1:4]
image = np.load(image_path)
loaders = {
    "torch": pretrained.AutoModelForImageClassification,
    "tf": pretrained.TFAutoModelForImageClassification,
    "flax": pretrained.FlaxAutoModelForImageClassification,
}
logits = {}
for backend, auto in loaders.items():
    model = auto.from_pretrained(repo, revision=revision, trust_remote_code=True)
    if backend == "torch":
        import torch
        with torch.no_grad():
            out = model(torch.from_numpy(image))["logits"].numpy()
    else:
        out = np.asarray(model(image)["logits"])
    logits[backend] = {"class": type(model).__module__ + "." + type(model).__name__, "logits": out[0].tolist()}
print(json.dumps(logits))
"""


def build_and_push(workdir: Path) -> str:
    """Steps 1-3 in this process; returns the pinned commit of the model push."""
    import numpy as np
    import timm
    import torch

    if str(EXAMPLE_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLE_DIR))
    from resnet_model.configuration_resnet import ResnetConfig
    from resnet_model.modeling_flax_resnet import FlaxResnetModelForImageClassification
    from resnet_model.modeling_resnet import ResnetModelForImageClassification
    from resnet_model.modeling_tf_resnet import TFResnetModelForImageClassification

    config = ResnetConfig(block_type="bottleneck", stem_width=32, stem_type="deep", avg_down=True)
    model = ResnetModelForImageClassification(config).eval()
    torch.manual_seed(0)
    timm_model = timm.create_model("resnet50d", pretrained=False)
    with torch.no_grad():  # give the batch norms non-trivial statistics, as trained weights would have
        for module in timm_model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.2, 0.4)
    model.model.load_state_dict(timm_model.state_dict())
    print(f"model      ResNet-50d, {model.num_parameters():,} parameters, weights from timm's resnet50d")

    ResnetConfig.register_for_auto_class()
    ResnetModelForImageClassification.register_for_auto_class("AutoModelForImageClassification")
    TFResnetModelForImageClassification.register_for_auto_class("TFAutoModelForImageClassification")
    FlaxResnetModelForImageClassification.register_for_auto_class("FlaxAutoModelForImageClassification")
    pushed = model.push_to_hub(REPO_ID, commit_message="ResNet-50d with its code")
    print(f"pushed     {REPO_ID} @ {pushed.oid[:10]} (weights + resnet_model/*.py + auto_map)")

    config.num_classes = 10  # a later push must not change what the pinned revision runs
    later = config.push_to_hub(REPO_ID, commit_message="change the head")
    print(f"pushed     {REPO_ID} @ {later.oid[:10]} (config changed; the demo loads the pinned {pushed.oid[:10]})")

    image = np.random.default_rng(0).normal(size=(1, 3, 224, 224)).astype(np.float32)
    np.save(workdir / "image.npy", image)
    with torch.no_grad():
        reference = model(torch.from_numpy(image))["logits"].numpy()[0]
    np.save(workdir / "reference.npy", reference)
    return pushed.oid


def load_in_fresh_process(workdir: Path, revision: str) -> dict[str, dict]:
    """Step 4: only `pretrained` imported; the model code comes from the Hub."""
    import pretrained

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PRETRAINED_DISABLE_PROGRESS_BARS": "1"}
    # the same `pretrained` as this process, but NOT the user's package: its code must come from the Hub
    env["PYTHONPATH"] = str(Path(pretrained.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, REPO_ID, revision, str(workdir / "image.npy")],
        cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"loading in a fresh process failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(loaded: dict[str, dict], reference_path: Path) -> None:
    import numpy as np

    reference = np.load(reference_path)
    top5 = np.argsort(reference)[::-1][:5]
    print("\nloaded by repo id + pinned revision, trust_remote_code=True, in a fresh process:")
    for backend, entry in loaded.items():
        print(f"  {backend:5s} -> {entry['class']}")
    print(f"\n{'class':>6} | {'torch':>10} | {'tf':>10} | {'flax':>10}")
    print("-" * 46)
    for index in top5:
        row = " | ".join(f"{loaded[b]['logits'][index]:10.5f}" for b in ("torch", "tf", "flax"))
        print(f"{index:>6} | {row}")
    worst = max(float(np.abs(np.asarray(loaded[b]["logits"]) - reference).max()) for b in loaded)
    relative = worst / float(np.abs(reference).max())
    print(f"\nmax |logit difference| vs the original torch model, all 1000 classes: {worst:.2e} ({relative:.1e} relative)")
    if relative > 1e-5:
        raise SystemExit("the backends disagree by more than 1e-5 (relative)")


def main() -> None:
    from pretrained.testing import LocalHub

    with tempfile.TemporaryDirectory(prefix="pretrained-demo-") as tmp, LocalHub(root=Path(tmp) / "hub") as hub:
        workdir = Path(tmp)
        print(f"local Hub  {hub.endpoint}")
        revision = build_and_push(workdir)
        loaded = load_in_fresh_process(workdir, revision)
        report(loaded, workdir / "reference.npy")
    print("\ndemo ok")


if __name__ == "__main__":
    main()
