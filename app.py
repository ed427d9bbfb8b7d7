"""The hotline's application factory. `python app.py` runs the embedded demo."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, url_for
from flask_wtf.csrf import CSRFProtect

from core import security
from core.config import ConfigError, load_settings
from core.logs import install_phone_masking

# One BLAS/OpenMP thread per request thread. A web process serves many calls at once from its
# own threads; native pools that also fan out each small computation (the intent classifier)
# only make those threads fight over the cores - measured, it halved the CPU per webhook
# (bench/webhooks.py). It must be set before numpy/scipy load, hence here; an operator's own
# setting wins.
for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

log = logging.getLogger("hotline")
csrf = CSRFProtect()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the hotline app: settings, database, jobs, Twilio, speech, then blueprints.

    `config` overrides the environment; tests use it to hand in local stand-ins
    (CLOCK, JOB_QUEUE, TWILIO_CLIENT, SPEECH_MODELS) instead of patching modules.
    """
    settings = load_settings(config)
    install_phone_masking()  # every log line, the access log's too
    app = Flask(__name__, static_folder="core/static", template_folder="core/templates")
    app.config.update(settings)
    security.init_app(app, settings)

    _init_parts(app)
    _init_web(app)
    return app


def _init_parts(app: Flask) -> None:
    """Build the injected parts once and keep them in app.extensions."""
    from core.clock import SystemClock
    from core.db import Database
    from core.jobs import InProcessJobQueue, RQJobQueue
    from core.spool import Spool
    from core.twilio_client import make_twilio_client

    cfg = app.config
    db = cfg.get("DATABASE") or Database(cfg["DATABASE_URL"])
    app.extensions["db"] = db
    app.teardown_appcontext(db.remove_session)
    app.extensions["clock"] = cfg.get("CLOCK") or SystemClock()
    app.extensions["spool"] = Spool(cfg["SPOOL_DIR"])

    jobs = cfg.get("JOB_QUEUE")
    if jobs is None and cfg["REDIS_URL"]:
        jobs = RQJobQueue(cfg["REDIS_URL"], prefix=cfg["RQ_QUEUE_PREFIX"])
    if jobs is None:
        jobs = InProcessJobQueue(app, app.extensions["clock"])
        if cfg.get("START_IN_PROCESS_WORKER", True):
            jobs.start()
            log.info("REDIS_URL is not set: jobs run in-process (embedded mode)")
    app.extensions["jobs"] = jobs

    app.extensions["twilio"] = cfg.get("TWILIO_CLIENT") or make_twilio_client(
        cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"], cfg["TWILIO_API_BASE_URL"])

    from speech.encoder import shared_encoder
    from speech.understanding import Understanding, warm_up_in_background

    understanding = cfg.get("UNDERSTANDING")
    if understanding is None:
        semantic = cfg["SEMANTIC_UNDERSTANDING"]
        encoder = shared_encoder(cfg["EMBEDDING_CACHE_DIR"] or None,
                                 cfg["ENCODER_PRECISION"]) if semantic else None
        understanding = Understanding(encoder, semantic=semantic,
                                      wait_for_models=cfg["UNDERSTANDING_WAIT_FOR_MODELS"])
    app.extensions["understanding"] = understanding
    if cfg["UNDERSTANDING_WARM_UP"]:
        warm_up_in_background(understanding)


def _init_web(app: Flask) -> None:
    """Blueprints, CSRF, i18n, error handlers and each package's routes."""
    import callbacks
    import ivr
    from core import api, auth, cli, health, i18n
    from core.errors import register_error_handlers

    csrf.init_app(app)
    i18n.init_app(app)
    register_error_handlers(app)
    auth.init_app(app)
    app.register_blueprint(health.bp)
    cli.init_app(app)
    app.config.setdefault("CONSOLE_LINKS", [])

    from speech import ws
    from speech.models import ModelRegistry

    app.extensions["speech"] = app.config.get("SPEECH_MODELS") or ModelRegistry.from_config(
        app.config)
    ws.init_app(app)
    ivr.init_app(app, csrf)
    callbacks.init_app(app, csrf)
    if app.config["LOCAL_TELEPHONY"]:  # the embedded default: the local phone and REST stand-in
        from localtwilio import phone
        phone.init_app(app, csrf)
    # Last in the menu (and never anyone's front door): the account and callers'-data pages.
    app.config["CONSOLE_LINKS"] += [("account.password", "nav.password", "agent"),
                                    ("account.users", "nav.users", "admin"),
                                    ("privacy.page", "nav.privacy", "admin")]

    # After the packages: they add their routes to the shared API blueprint.
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)

    @app.context_processor
    def console_links() -> dict[str, Any]:
        return {"console_links": app.config["CONSOLE_LINKS"]}

    @app.route("/")
    def home() -> Any:
        """The front door: each user's own console; visitors sign in."""
        from flask import g

        user = g.get("user")
        for endpoint, _label, role in app.config["CONSOLE_LINKS"]:
            if user is not None and user.role == role:
                return redirect(url_for(endpoint))
        return redirect(url_for("auth.login"))


def main() -> int:
    """`python app.py`: migrate, seed the demo, and serve the hotline."""
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        app = create_app({"SEED_DEMO": os.environ.get("SEED_DEMO", "true")})
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from sqlalchemy.exc import OperationalError

    from core.cli import prepare_database
    from core.privacy import mask_url

    try:
        with app.app_context():
            prepare_database(app)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"database unreachable at {mask_url(app.config['DATABASE_URL'])}: {reason}",
              file=sys.stderr)
        return 3
    queue = app.extensions["jobs"].status()
    if not queue["ok"]:
        log.warning("job queue unavailable (%s): callbacks wait in the database until it is back",
                    queue.get("error", "not running"))
    port = app.config["PORT"]
    host = app.config["HOST"]
    log.info("hotline listening on http://%s:%s (public base %s)", host, port,
             app.config["PUBLIC_BASE_URL"])
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
