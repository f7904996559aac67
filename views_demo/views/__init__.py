"""
The twin views, one module per topic. In each, every sync_<name> view sits right above its
async_<name> twin, and their bodies differ only where async differs.
"""
