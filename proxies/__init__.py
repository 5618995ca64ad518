"""Zero-cost proxies, one module per proxy (installed as ``zcbench.proxies``).

The registry and the proxies themselves arrive with the proxy issue; this package exists so the
import namespace of the design card is in place from the start.
"""
