"""An unprivileged user mounts mmapfs (through fusermount3, as on a
desktop) and uses it: files are created with the user's ids, data round
trips, the user reads its own .stats files, and the unmount by
`fusermount3 -u` ends the daemon with status 0.

The unprivileged daemon needs to open /dev/fuse, which Debian makes 0666.
Where it is 0600 (this project's containers), the test runs in a private
mount namespace (unshare -m) whose /dev/fuse is a bind mount of a 0666
node of the same device, so nothing outside the test changes. Every mount
of the test lives in that namespace: when the namespace's last process
exits, the kernel detaches them, so none can be left behind. The script
kills only the daemon it started, by pid.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import util
from conftest import DAEMON

SCRIPT = r"""
set -eu
dir=$1 daemon=$2
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if [ "$(stat -c %a /dev/fuse)" != 666 ]; then
    mknod "$dir/fusedev" c 10 229
    chmod 666 "$dir/fusedev"
    mount --bind "$dir/fusedev" /dev/fuse
fi
as_user "$daemon" "$dir/backing" "$dir/mnt" -f > "$dir/log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
for i in $(seq 100); do
    grep -q " $dir/mnt fuse.mmapfs " /proc/mounts && break
    kill -0 $pid
    sleep 0.1
done
grep " $dir/mnt fuse.mmapfs " /proc/mounts | grep -q "user_id=65534"
as_user sh -c "printf hello > '$dir/mnt/f' && cat '$dir/mnt/f'"
echo
as_user mkdir "$dir/mnt/d"
stat -c '%u:%g' "$dir/backing/f" "$dir/backing/d"
as_user cat "$dir/mnt/.stats/version" > /dev/null
echo stats-ok
as_user fusermount3 -u "$dir/mnt"
wait $pid
echo "exit $?"
trap - EXIT
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to set it up")
def test_unprivileged_user_mounts_and_uses_it():
    for tool in ("unshare", "setpriv", "fusermount3", "mknod"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    # pytest's own tmp_path is 0700 root: the user could not reach it
    base = Path(tempfile.mkdtemp(prefix="mmapfs-user-", dir="/tmp"))
    try:
        run_as_user(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_as_user(base):
    (base / "backing").mkdir()
    (base / "mnt").mkdir()
    os.chmod(base, 0o755)
    for p in (base, base / "backing", base / "mnt"):
        os.chown(p, 65534, 65534)
    res = util.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                    SCRIPT, "sh", str(base), str(DAEMON)], timeout=60)
    log = (base / "log").read_text(errors="replace") \
        if (base / "log").exists() else ""
    assert res.returncode == 0, (res.stdout, res.stderr, log)
    assert res.stdout.split() == ["hello", "65534:65534", "65534:65534",
                                  "stats-ok", "exit", "0"], \
        (res.stdout, res.stderr, log)
    assert not util.sanitizer_lines(log), log
    assert str(base) not in open("/proc/mounts").read()
