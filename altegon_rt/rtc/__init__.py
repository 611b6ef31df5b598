"""sans-IO WebRTC protocol cores."""
