"""A read-only dashboard for project leaders and HR: campaigns, learning figures, downloads.

Rendered on the server (Jinja2 and inline SVG), so it works without JavaScript and under the
same strict Content-Security-Policy as the public pages.
"""
