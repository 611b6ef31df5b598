"""The demo page ``/demo/meet``: a meeting a person can use in a browser, over the SFU socket.

Owns the page (``static/meet.html``, ``static/meet.css``), its script's source (``src/*.js``: socket.io-client
and mediasoup-client from npm, bundled by esbuild into ``static/dist/meet.js`` by ``npm run build``, which
``.ci/install`` runs), and the routes that serve them (:mod:`altegon_rt.demo.pages`). The browser tests in
``tests/demo/`` drive this same page.
"""

from altegon_rt.demo.pages import ROUTES

__all__ = ["ROUTES"]
