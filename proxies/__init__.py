"""Zero-cost proxies, one module per proxy (installed as ``zcbench.proxies``).

Importing this package imports every module in it, and each module registers its proxies.
Use :func:`list_proxies`, :func:`get_proxy` and :func:`resolve_proxies`; register your own
with :func:`register_proxy` (or the ``zcbench.proxies`` entry-point group).
"""

import importlib
import pkgutil

from zcbench.proxies.base import (
    DERIVED,
    DerivedMember,
    HookProxy,
    OwnProxy,
    ProxyContext,
    ProxyFailure,
    ProxySkipped,
    ProxySpec,
    get_proxy,
    list_proxies,
    member_inputs,
    register_derived,
    register_proxy,
    resolve_proxies,
)

_HELPERS = {"base", "layers"}
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _HELPERS and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["DERIVED", "DerivedMember", "HookProxy", "OwnProxy", "ProxyContext", "ProxyFailure",
           "ProxySkipped", "ProxySpec", "get_proxy", "list_proxies", "member_inputs",
           "register_derived", "register_proxy", "resolve_proxies"]  # fmt: skip
