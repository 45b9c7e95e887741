"""Live screens: open pages follow the mirror without reloading. Writers bump per-scope version
counters (`integrations.rentengine.mirror`); each page opens one Server-Sent Events stream
(`stream.py`, fanned out by `hub.py`) that carries only `{scope: version}` notices, and htmx
re-fetches the affected fragments through the normal views (`row_patches.py` for list rows). Start
with `middleware.py` (the versions a page starts from) and `static/js/live.js`."""
