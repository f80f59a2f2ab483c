"""borough's example bots, one module each, written only against the public API (the
``borough`` bot API and ``connectors``): copy one to start a bot of your own."""
