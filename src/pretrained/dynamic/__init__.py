"""Code shipped with a checkpoint: `register_for_auto_class`, saving code files + `auto_map`, `trust_remote_code`.

Saving: a class registered for an Auto class (`MyConfig.register_for_auto_class()`,
`MyModel.register_for_auto_class("AutoModelForImageClassification")`) has its defining `.py` file, and the
same-folder files that file imports relatively (recursively), copied next to the weights, and `config.json` gets
`auto_map = {"AutoConfig": "configuration_my.MyConfig", ...}`.

Loading: `get_class_from_dynamic_module` resolves the code files from the checkpoint (for a Hub repo: from the
snapshot of the resolved commit), checks their imports, copies them into a private module cache
(`$PRETRAINED_MODULES_CACHE`, default `$HF_HOME/pretrained_modules`) keyed by repo and commit (local directory: by
content hash) and imports them there. Nothing is imported unless `trust_remote_code=True`; refusing never prompts.

Modules: `_registering` (Auto class names, the classes to ship), `_saving` (copying code next to the weights),
`_parsing` (imports read without running the code), `_trust` (`auto_map` references, `trust_remote_code`),
`_loading` (fetching the code of one snapshot) and `_module_cache` (where it is imported from).

Example:
    >>> from pretrained.dynamic import parse_class_reference
    >>> parse_class_reference("me/repo--modeling_my.MyModel")
    ClassReference(repo='me/repo', module='modeling_my', class_name='MyModel')
"""

from ._loading import RemoteCodeImportError, get_class_from_dynamic_module, load_remote_class
from ._module_cache import PACKAGE, modules_cache_dir
from ._parsing import missing_packages, relative_imports
from ._registering import check_auto_class, register_for_auto_class
from ._saving import custom_object_save
from ._trust import ClassReference, add_repo_to_auto_map, parse_class_reference, resolve_trust_remote_code

__all__ = [
    "PACKAGE",
    "ClassReference",
    "RemoteCodeImportError",
    "add_repo_to_auto_map",
    "check_auto_class",
    "custom_object_save",
    "get_class_from_dynamic_module",
    "load_remote_class",
    "missing_packages",
    "modules_cache_dir",
    "parse_class_reference",
    "register_for_auto_class",
    "relative_imports",
    "resolve_trust_remote_code",
]
