"""`elicit models backup` and `restore`: a fresh store gets the backed-up snapshot, byte for byte."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from service.cli.main import main
from service.store import Store
from tests.service.reports.test_content import make_log


def test_a_backup_restores_into_an_empty_store_and_a_second_restore_changes_nothing(
        make_app: Any, clock: Any, mongo_uri: str, db_name: str, tmp_path: Path) -> None:
    app = make_app()
    make_log(app.test_client(), app.extensions["elicit"], clock, 20)
    source = app.extensions["elicit"].store
    published = source.latest_model_meta("slate")
    backup = CliRunner(env={"ELICIT_MONGO_URI": mongo_uri, "ELICIT_DB": db_name}).invoke(
        main, ["models", "backup", "--all", str(tmp_path)])
    assert backup.exit_code == 0, backup.output
    fresh = f"test_{uuid.uuid4().hex[:12]}"
    restore = CliRunner(env={"ELICIT_MONGO_URI": mongo_uri, "ELICIT_DB": fresh, "ELICIT_SPOOL_DIR": str(tmp_path / "s")})
    first, second = restore.invoke(main, ["models", "restore", str(tmp_path)]), restore.invoke(main, ["models", "restore", str(tmp_path)])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "restored 0 model snapshot(s), 2 already present" in second.output  # slate-v1 and slate-v2
    target = Store(mongo_uri, fresh)
    try:
        restored = target.latest_model_meta("slate")
        assert restored["version"] == published["version"] and restored["sha256"] == published["sha256"]
        assert target.load_model(restored["file_id"]) == source.load_model(published["file_id"])
    finally:
        target.drop_database()
        target.close()
