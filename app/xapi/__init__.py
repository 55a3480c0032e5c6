"""xAPI (Experience API 1.0.3): campaign activity as statements, streamed and forwarded to an LRS."""
