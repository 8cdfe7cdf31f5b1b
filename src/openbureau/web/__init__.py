"""Server-rendered pages (Jinja2, autoescaped) and their static assets."""
