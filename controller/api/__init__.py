"""HTTP routers. Each one is thin: parse, call a domain function, shape the answer."""
