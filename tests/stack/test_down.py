"""`deploy/stack.py down` (make stack-down) stops every process `up` started, and only those;
`up` starts a Redis of its own only when none answers."""

import pytest
import requests

from deploy import stack as stack_script
from tests.stack.conftest import free_ports, running_stack

pytestmark = pytest.mark.postgres


def test_down_leaves_no_process_the_stack_started(django_db_setup):
    (dead_redis,) = free_ports(1)
    with running_stack(
        apps=1, workers=1, overrides={"REDIS_URL": f"redis://127.0.0.1:{dead_redis}/0"}
    ) as stack:
        pid = stack.supervisord_pid()
        assert pid is not None
        tree = stack_script.process_tree(pid)
        programs = stack.supervisorctl("status")
        config = stack_script.load_config(stack.state_dir)
        app_env = stack_script._load_app_environment(stack.state_dir)

        stopped = stack.run("down")

        assert stopped.returncode == 0, stopped.stderr
        assert [p for p, start in tree.items() if stack_script.alive(p, start)] == []
        assert stack.supervisord_pid() is None
        # It had started nginx, pgbouncer, the app server and, none answering, a Redis.
        for program in ("nginx", "pgbouncer", "apps:app-", "redis"):
            assert program in programs
        assert len(tree) >= 6  # supervisord, its 4 programs, nginx's and uWSGI's workers
        assert app_env["REDIS_URL"] == f"redis://127.0.0.1:{config.redis_port}/0"
        assert not stack_script.redis_answers(app_env["REDIS_URL"])
        ports = [config.port, *config.app_ports, config.pgbouncer_port, config.redis_port]
        assert all(stack_script.port_free(port) for port in ports)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{stack.url}/healthz", timeout=2)
        assert "not running" in stack.run("down").stdout  # twice: nothing left to stop


def test_redis_that_answers_is_used_not_started():
    config = stack_script.config_from_env({"STACK_REDIS_PORT": "1"})
    (dead,) = free_ports(1)
    dead_url = f"redis://127.0.0.1:{dead}/0"

    assert stack_script.choose_redis({"REDIS_URL": dead_url}, config) == (
        "redis://127.0.0.1:1/0",
        True,
    )
    if not stack_script.redis_answers(stack_script.DEFAULT_REDIS_URL):
        pytest.skip("no Redis answers at the default URL on this machine")
    assert stack_script.choose_redis({}, config) == (stack_script.DEFAULT_REDIS_URL, False)
