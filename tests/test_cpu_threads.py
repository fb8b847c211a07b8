"""cpu_threads: torch's OpenMP settings, chosen before torch loads, the user's own winning."""
import os
import subprocess
import sys

from liveart import cpu_threads


def test_the_choice_on_a_bare_environment():
    assert cpu_threads.choices({}, cores=2) == {"OMP_WAIT_POLICY": "PASSIVE",
                                               "OMP_NUM_THREADS": "1"}
    assert cpu_threads.choices({}, cores=8)["OMP_NUM_THREADS"] == "7"
    assert cpu_threads.choices({}, cores=1)["OMP_NUM_THREADS"] == "1"


def test_what_the_user_set_wins():
    assert cpu_threads.choices({"OMP_WAIT_POLICY": "ACTIVE"}, 2) == {"OMP_NUM_THREADS": "1"}
    assert cpu_threads.choices({"OMP_NUM_THREADS": "2"}, 2) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert cpu_threads.choices({"MKL_NUM_THREADS": "2"}, 2) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert cpu_threads.choices({"OMP_WAIT_POLICY": "active", "OMP_NUM_THREADS": "4"}, 2) == {}


def test_configure_twice_sets_once():
    env = {"PATH": "/bin"}
    first = cpu_threads.configure(env)
    assert first["OMP_WAIT_POLICY"] == "PASSIVE" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert cpu_threads.configure(env) == {}
    assert env == {"PATH": "/bin", **first}


def test_too_late_once_torch_is_loaded():
    import torch  # noqa: F401  (as in this test process)

    before = dict(os.environ)
    assert cpu_threads.configure() == {}
    assert dict(os.environ) == before


def test_usable_cores_counts_what_this_process_may_use():
    n = cpu_threads.usable_cores()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def _torch_threads(env_extra: dict) -> list[str]:
    """A fresh Python that imports liveart, then torch (as `liveart ...` does): what torch
    runs with."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(env_extra)
    code = ("import os, liveart, torch; "
            "print(torch.get_num_threads(), os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


def test_a_fresh_process_runs_torch_with_the_choice():
    expected = max(1, cpu_threads.usable_cores() - 1)
    assert _torch_threads({}) == [str(expected), "PASSIVE"]


def test_a_fresh_process_keeps_the_users_settings():
    assert _torch_threads({"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}) == ["2", "ACTIVE"]
