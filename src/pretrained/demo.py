"""`make demo`: the main job end to end on an embedded loopback Hub (`python -m pretrained.demo`).

Today: a config saved, pushed twice, and loaded back by repo id at both revisions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pretrained.models.resnet import ResnetConfig
from pretrained.testing import LocalHub


def run_config_story(workdir: Path) -> None:
    config = ResnetConfig(block_type="bottleneck", stem_width=32, stem_type="deep", avg_down=True)
    config.save_pretrained(workdir / "custom-resnet")
    print(f"saved      {workdir / 'custom-resnet' / 'config.json'}")
    first = config.push_to_hub("demo/custom-resnet50d", commit_message="ResNet-50d config")
    print(f"pushed     demo/custom-resnet50d @ {first.oid[:10]}")
    config.num_classes = 10
    second = config.push_to_hub("demo/custom-resnet50d", commit_message="10 classes")
    print(f"pushed     demo/custom-resnet50d @ {second.oid[:10]}")
    latest = ResnetConfig.from_pretrained("demo/custom-resnet50d")
    pinned = ResnetConfig.from_pretrained("demo/custom-resnet50d", revision=first.oid)
    print(f"loaded     main -> num_classes={latest.num_classes}; {first.oid[:10]} -> num_classes={pinned.num_classes}")
    assert (latest.num_classes, pinned.num_classes) == (10, 1000)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="pretrained-demo-") as tmp, LocalHub(root=Path(tmp) / "hub") as hub:
        print(f"local Hub  {hub.endpoint}")
        run_config_story(Path(tmp))
    print("demo ok")


if __name__ == "__main__":
    main()
