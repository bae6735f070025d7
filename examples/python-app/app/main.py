"""A small Flask app: a greeting page and a JSON health endpoint."""

import os

import markupsafe
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    name = os.environ.get("GREETING_NAME", "world")
    return f"<h1>hello, {markupsafe.escape(name)}</h1>\n"


@app.get("/health")
def health():
    # MarkupSafe's C speedups were compiled in the builder stage; the final
    # stage has no compiler, only the built extension.
    try:
        from markupsafe import _speedups  # noqa: F401

        speedups = True
    except ImportError:
        speedups = False
    return jsonify(status="ok", markupsafe=markupsafe.__version__, speedups=speedups)


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    run_simple("0.0.0.0", int(os.environ.get("PORT", "8000")), app)
