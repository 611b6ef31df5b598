"""The demo pages a person can use in a browser: ``/demo/meet`` (a meeting over the SFU socket) and
``/demo/live`` (broadcast the camera to Low-Latency HLS over the HLS server socket, or watch with hls.js).

Owns the pages (``static/<page>.html``, ``static/<page>.css``), their scripts' source (``src/*.js``:
socket.io-client, mediasoup-client and hls.js from npm, bundled by esbuild into ``static/dist/meet.js`` and
``static/dist/live.js`` by ``npm run build``, which ``.ci/install`` runs), and the routes that serve them
(:mod:`altegon_rt.demo.pages`). The browser tests in ``tests/demo/`` drive these same pages.
"""

from altegon_rt.demo.pages import ROUTES

__all__ = ["ROUTES"]
