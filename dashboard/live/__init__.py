"""Live screens (issue 8 item 3): open pages follow the mirror without reloading.

How it fits together:
- Writers (sync, webhook apply, the bulk-assign outbox) bump per-scope version counters
  (`integrations.rentengine.mirror.changes`); with Redis each bump is also published.
- Every page names the scopes it shows in `data-live` attributes. `static/js/live.js` opens one
  Server-Sent Events stream per page (`views.live.live_stream`) for those scopes; the stream carries
  only `{scope: version}` notices (`hub.py` fans them out inside a process: Redis pub/sub when
  REDIS_URL is set, otherwise it polls the counters).
- On a notice the page re-fetches the affected fragments with ordinary GETs through htmx (the
  views render them as usual, so permissions and templates stay where they are). Lists patch only
  the rows already on screen and count new rows into an "N new · show" pill (`rows.py`).
- The page knows the versions it was rendered from (`middleware.py` reads them before the view
  reads any data), so after a reconnect it compares and re-fetches only what moved.
- Under WSGI the stream answers 204 and the page polls `views.live.live_versions` instead.
"""
