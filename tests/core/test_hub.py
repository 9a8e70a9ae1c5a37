"""Hub I/O through huggingface_hub against the loopback LocalHub: push, revisions, PRs, offline, errors."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi, constants

from pretrained import PretrainedConfig
from pretrained.errors import HubError
from pretrained.hub import resolve_checkpoint, resolve_file
from pretrained.models.resnet import ResnetConfig


def test_push_then_load_by_repo_id(local_hub):
    info = ResnetConfig(num_classes=7).push_to_hub("alice/resnet-config")
    assert len(info.oid) == 40
    assert ResnetConfig.from_pretrained("alice/resnet-config").num_classes == 7
    files = HfApi().list_repo_files("alice/resnet-config")
    assert {"README.md", "config.json"} <= set(files)


def test_two_pushes_two_commits_old_revision_still_loads(local_hub):
    config = ResnetConfig(num_classes=3)
    first = config.push_to_hub("alice/two")
    config.num_classes = 4
    second = config.push_to_hub("alice/two", commit_message="four")
    assert first.oid != second.oid
    commits = HfApi().list_repo_commits("alice/two")
    assert [c.commit_id for c in commits][:2] == [second.oid, first.oid]
    assert ResnetConfig.from_pretrained("alice/two").num_classes == 4
    assert ResnetConfig.from_pretrained("alice/two", revision=first.oid).num_classes == 3


def test_create_pr_leaves_main_unchanged(local_hub):
    config = ResnetConfig(num_classes=3)
    config.push_to_hub("alice/pr")
    config.num_classes = 9
    info = config.push_to_hub("alice/pr", create_pr=True)
    assert info.pr_url is not None and info.pr_revision == "refs/pr/1"
    assert ResnetConfig.from_pretrained("alice/pr").num_classes == 3
    assert ResnetConfig.from_pretrained("alice/pr", revision="refs/pr/1").num_classes == 9


def test_push_to_a_branch(local_hub):
    ResnetConfig(num_classes=3).push_to_hub("alice/branchy")
    ResnetConfig(num_classes=8).push_to_hub("alice/branchy", revision="dev")
    assert ResnetConfig.from_pretrained("alice/branchy").num_classes == 3
    assert ResnetConfig.from_pretrained("alice/branchy", revision="dev").num_classes == 8


def test_save_pretrained_with_push_to_hub(local_hub, tmp_path):
    ResnetConfig(num_classes=5).save_pretrained(tmp_path / "local", push_to_hub=True, repo_id="alice/saved")
    assert ResnetConfig.from_pretrained("alice/saved").num_classes == 5


def test_model_card_written_once(local_hub):
    PretrainedConfig().push_to_hub("alice/card", tags=["vision"])
    card = HfApi().hf_hub_download("alice/card", "README.md")
    text = open(card).read()
    assert "library_name: pretrained" in text and "vision" in text
    api = HfApi()
    api.upload_file(path_or_fileobj=b"# my own card\n", path_in_repo="README.md", repo_id="alice/card")
    PretrainedConfig(num_labels=4).push_to_hub("alice/card")
    assert open(api.hf_hub_download("alice/card", "README.md")).read() == "# my own card\n"


def test_offline_mode_loads_from_cache(local_hub, monkeypatch):
    ResnetConfig(num_classes=6).push_to_hub("alice/offline")
    assert ResnetConfig.from_pretrained("alice/offline").num_classes == 6
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert ResnetConfig.from_pretrained("alice/offline").num_classes == 6
    assert ResnetConfig.from_pretrained("alice/offline", local_files_only=True).num_classes == 6
    with pytest.raises(HubError, match="not in the local cache"):
        ResnetConfig.from_pretrained("alice/never-downloaded")


def test_subfolder(local_hub, tmp_path):
    ResnetConfig(num_classes=2).save_pretrained(tmp_path / "repo" / "sub")
    HfApi().create_repo("alice/sub")
    HfApi().upload_folder(repo_id="alice/sub", folder_path=tmp_path / "repo")
    assert ResnetConfig.from_pretrained("alice/sub", subfolder="sub").num_classes == 2
    assert ResnetConfig.from_pretrained(tmp_path / "repo", subfolder="sub").num_classes == 2


def test_missing_repo_is_a_clear_error(local_hub):
    with pytest.raises(HubError, match="no such repo exists"):
        ResnetConfig.from_pretrained("alice/does-not-exist")


def test_missing_revision_and_file(local_hub):
    ResnetConfig().push_to_hub("alice/rev")
    with pytest.raises(HubError, match="revision 'nope' does not exist"):
        ResnetConfig.from_pretrained("alice/rev", revision="nope")
    with pytest.raises(HubError, match=r"'alice/rev' at revision 'main' has no file 'weights.bin'"):
        resolve_file("alice/rev", "weights.bin")
    assert resolve_file("alice/rev", "weights.bin", required=False) is None
    with pytest.raises(HubError, match="has no weights"):
        resolve_checkpoint("alice/rev")


def test_not_a_directory_nor_a_repo_id():
    with pytest.raises(HubError, match="neither a local directory"):
        resolve_file("./no/such/../dir", "config.json")


@pytest.mark.parametrize("fixture", ["transformers_tf_bert_tiny_mlm", "transformers_flax_bert_tiny"])
def test_v4_tf_and_flax_repos_resolve_with_their_shards(local_hub, fixture):
    from pathlib import Path

    directory = Path(__file__).resolve().parents[1] / "models" / "bert" / "fixtures" / fixture
    HfApi().create_repo(f"alice/{fixture}")
    HfApi().upload_folder(repo_id=f"alice/{fixture}", folder_path=directory)
    checkpoint = resolve_checkpoint(f"alice/{fixture}")
    assert checkpoint.kind == ("h5" if "_tf_" in fixture else "msgpack")
    assert checkpoint.index_path.name.endswith(".index.json") and len(checkpoint.files) == 2
    assert all(path.is_file() for path in checkpoint.files)  # every shard downloaded


def test_push_adds_model_tags_to_an_existing_card(local_hub):
    from huggingface_hub import ModelCard, hf_hub_download

    from pretrained.models.resnet import ResnetModel

    model = ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1]))
    model.push_to_hub("alice/tagged", tags=["first"])
    model.add_model_tags(["vision"])
    model.push_to_hub("alice/tagged", tags=["first"])
    card = ModelCard.load(hf_hub_download("alice/tagged", "README.md"))
    assert card.data.tags == ["first", "pretrained", "vision"] and card.data.library_name == "pretrained"
