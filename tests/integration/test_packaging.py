"""The Debian packages (issue 21): scripts/build-debs.sh builds mmapfs,
libmmapioN and libmmapio-dev from a clean copy of the source, lintian finds
no errors, apt installs them, `mount -t mmapfs`, `mount -t fuse.mmapfs` and
an fstab line of type mmapfs mount through the installed helper with config
keys as options (the policy checked with getfattr), the installed library
builds a C program, the bash completion answers, the template unit passes
systemd-analyze verify, and purging leaves nothing behind.

The packages change the machine: everything runs in one module-scoped
fixture that purges them in a finally clause, and restores any file of the
same path that was there before (a `meson install` puts mount.mmapfs in
/sbin too; dpkg would replace it without asking, and purge would delete
it). When an mmapfs or libmmapio package is already installed the tests
skip: they would replace and then purge someone else's install. The
build-tree tests are not affected: they run build/src/fs/mmapfs by path.

The unit tests are not run again inside the package build
(DEB_BUILD_OPTIONS=nocheck): scripts/test.sh has run them already. The
packages do not depend on MMAPFS_BUILD, so the tests skip in the run with
the sanitizer build (scripts/test.sh runs the suite twice).
"""

import os
import re
import shutil
import signal
from pathlib import Path

import pytest

import conftest
import util
from test_install import C_PROGRAM, build_options, mounted_daemon_pids
from test_signals import reap, subreaper


def library_package():
    """libmmapioN, as debian/control names it (after the soname)."""
    control = (conftest.REPO / "debian" / "control").read_text()
    return re.search(r"^Package: (libmmapio[0-9]+)$", control,
                     flags=re.M).group(1)


LIBPKG = library_package()
SONAME = "libmmapio.so." + LIBPKG[len("libmmapio"):]
PACKAGES = ("mmapfs", LIBPKG, "libmmapio-dev")
APT = ["apt-get", "-y", "--no-install-recommends",
       "-o", "DPkg::Lock::Timeout=300"]
INSTALLED_DAEMON = "/usr/bin/mmapfs"



def sanitizer_build():
    """The packages are built from the source, not from MMAPFS_BUILD: the
    run of the suite with the sanitizer daemon leaves them to the other."""
    build = conftest.REPO / conftest.BUILD
    if not (build / "build.ninja").exists():
        return False
    return build_options().get("b_sanitize", "none") != "none"


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="installs packages: needs root"),
    pytest.mark.skipif(sanitizer_build(),
                       reason="built from the source, not from the "
                       "sanitizer build: tested with the optimized one"),
]


def dpkg_installed(package):
    proc = util.run(["dpkg-query", "-W", "-f=${Status}", package])
    return proc.returncode == 0 and "install ok installed" in proc.stdout


def package_files(deb):
    """Paths (not directories) the .deb would install."""
    paths = []
    for line in util.run(["dpkg-deb", "-c", str(deb)],
                         check=True).stdout.splitlines():
        fields = line.split(maxsplit=5)
        if fields[0].startswith("d"):
            continue
        paths.append(Path("/" + fields[5].split(" -> ")[0].lstrip("./")))
    return paths


class Packages:
    def __init__(self, out):
        self.dir = out
        self.debs = {p: next(out.glob(f"{p}_*.deb")) for p in PACKAGES}
        self.changes = next(out.glob("*.changes"))
        self.lintian = ""


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    out = tmp_path_factory.mktemp("debs")
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    proc = util.run(["nice", str(conftest.REPO / "scripts" / "build-debs.sh"),
                     str(out)], timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    packages = Packages(out)
    packages.lintian = proc.stdout[proc.stdout.index("== lintian"):]
    return packages


@pytest.fixture(scope="module")
def installed(debs, tmp_path_factory):
    already = [p for p in PACKAGES if dpkg_installed(p)]
    if already:
        pytest.skip(f"already installed: {already}; not replacing them")
    backup = tmp_path_factory.mktemp("backup")
    saved = []
    files = [p for deb in debs.debs.values() for p in package_files(deb)]
    assert Path("/sbin/mount.mmapfs") in files, files
    for path in files:
        if os.path.lexists(path):
            dest = backup / path.relative_to("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest, follow_symlinks=False)
            saved.append((path, dest))
    try:
        proc = util.run(APT + ["install"] +
                        [f"{d}" for d in debs.debs.values()], timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield debs
    finally:
        purge = util.run(APT + ["purge"] + list(PACKAGES), timeout=600)
        for path, dest in saved:
            if not os.path.lexists(path):
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(dest, path, follow_symlinks=False)
        assert purge.returncode == 0, purge.stdout + purge.stderr
        assert not any(dpkg_installed(p) for p in PACKAGES)
        restored = {path for path, _ in saved}
        left = [p for p in files
                if os.path.lexists(p) and p not in restored]
        assert not left, left
        assert not os.path.exists("/etc/mmapfs")


def test_lintian_no_errors(debs, mmapfs_summary):
    assert "\nE: " not in debs.lintian, debs.lintian
    tags = [line for line in debs.lintian.splitlines()[1:]
            if line.strip() and "root privileges" not in line]
    for line in tags or ["no tags"]:
        mmapfs_summary(f"lintian: {line}")
    for name, deb in sorted(debs.debs.items()):
        mmapfs_summary(f"package {deb.name}: {deb.stat().st_size} bytes")


def test_package_contents(installed):
    files = util.run(["dpkg", "-L", "mmapfs"], check=True).stdout.split()
    for path in ("/usr/bin/mmapfs", "/usr/bin/mmapfsctl",
                 "/sbin/mount.mmapfs", "/sbin/mount.fuse.mmapfs",
                 "/etc/mmapfs/mmapfs.ini", "/lib/systemd/system/mmapfs@.service",
                 "/usr/share/bash-completion/completions/mmapfs",
                 "/usr/share/bash-completion/completions/mmapfsctl",
                 "/usr/share/man/man8/mmapfs.8.gz"):
        assert path in files, path
    conffiles = util.run(["dpkg-query", "-W", "-f=${Conffiles}", "mmapfs"],
                         check=True).stdout
    assert "/etc/mmapfs/mmapfs.ini" in conffiles, conffiles
    assert Path("/etc/mmapfs/mmapfs.ini").read_bytes() == \
        (conftest.REPO / "conf" / "mmapfs.ini").read_bytes()
    version = util.run([INSTALLED_DAEMON, "--version"], check=True).stdout
    assert version.startswith("mmapfs 0.1.0 "), version
    helper = Path("/sbin/mount.mmapfs").read_text()
    assert f"MMAPFS='{INSTALLED_DAEMON}'" in helper
    lib = util.run(["dpkg", "-L", LIBPKG], check=True).stdout
    assert f"/{SONAME}\n" in lib, lib
    dev = util.run(["dpkg-query", "-W", "-f=${Depends}", "libmmapio-dev"],
                   check=True).stdout
    assert dev.startswith(f"{LIBPKG} (= "), dev


def policy_of(path):
    return util.run(["getfattr", "--only-values", "-n", "user.mmapfs.policy",
                     str(path)], check=True, timeout=30).stdout


def mount_and_check(argv, backing, mnt, policies, opts_seen=("noatime",)):
    """Runs a mount(8) command line, then checks the mount, the policy of
    each file in policies ({name: expected}), unmounts and collects the
    installed daemon's exit status. Always unmounts."""
    pid = None
    with subreaper():
        proc = util.run(argv, timeout=60)
        try:
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert util.is_fuse_mounted(mnt)
            fstype, opts = next((t, o) for p, t, o in mount_table()
                                if p == str(mnt))
            assert fstype == "fuse.mmapfs", fstype
            for o in opts_seen:
                assert o in opts, opts
            pids = mounted_daemon_pids(mnt, INSTALLED_DAEMON)
            assert len(pids) == 1, pids
            pid = pids[0]
            for name, policy in policies.items():
                util.write_file(mnt / name, b"through the package")
                assert policy_of(mnt / name) == policy, name
            assert (backing / name).read_bytes() == b"through the package"
            assert util.run(["umount", str(mnt)]).returncode == 0
            assert reap(pid, conftest.EXIT_TIMEOUT) == 0
            pid = None
        finally:
            if util.is_fuse_mounted(mnt):
                util.run(["fusermount3", "-uz", str(mnt)])
            if pid is not None and reap(pid, conftest.EXIT_TIMEOUT) is None:
                os.kill(pid, signal.SIGKILL)
                reap(pid, conftest.EXIT_TIMEOUT)


def mount_table():
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            yield fields[1], fields[2], fields[3].split(",")


def dirs(tmp_path):
    backing, mnt = tmp_path / "backing", tmp_path / "mnt"
    backing.mkdir()
    mnt.mkdir()
    return backing, mnt


@pytest.mark.timeout(120)
def test_mount_t_mmapfs(installed, tmp_path):
    """mount -t mmapfs with the installed config and config keys as
    options: [global] flush from -o (':' joins thresholds), the file's
    other keys kept."""
    backing, mnt = dirs(tmp_path)
    mount_and_check(["mount", "-t", "mmapfs", "-o",
                     "noatime,config=/etc/mmapfs/mmapfs.ini,"
                     "flush=bytes=64KiB:ms=500",
                     str(backing), str(mnt)],
                    backing, mnt, {"f": "bytes=64KiB,ms=500"})


@pytest.mark.timeout(120)
def test_mount_t_fuse_mmapfs(installed, tmp_path):
    """mount -t fuse.mmapfs runs mount.fuse.mmapfs (no PATH lookup)."""
    backing, mnt = dirs(tmp_path)
    mount_and_check(["mount", "-t", "fuse.mmapfs", "-o", "noatime,lock=false",
                     str(backing), str(mnt)], backing, mnt, {"f": "never"})


@pytest.mark.timeout(120)
def test_fstab_line(installed, tmp_path):
    """An fstab line of type mmapfs with -o flush=always (a test fstab,
    mount -T), [match] of the config file still winning for its paths."""
    backing, mnt = dirs(tmp_path)
    cfg = tmp_path / "mmapfs.ini"
    cfg.write_text("[global]\nflush = never\n[match *.log]\n"
                   "flush = bytes=4MiB\n")
    fstab = tmp_path / "fstab"
    fstab.write_text("# test fstab\n"
                     f"{backing}  {mnt}  mmapfs  "
                     f"config={cfg},flush=always,noatime,nofail  0  0\n")
    mount_and_check(["mount", "-T", str(fstab), str(mnt)], backing, mnt,
                    {"a.log": "bytes=4MiB", "f": "always"})


@pytest.mark.timeout(120)
def test_bad_option_through_mount(installed, tmp_path):
    backing, mnt = dirs(tmp_path)
    proc = util.run(["mount", "-t", "mmapfs", "-o", "flush=sometimes",
                     str(backing), str(mnt)], timeout=60)
    assert proc.returncode != 0
    assert "-o flush: unknown key 'sometimes'" in proc.stderr, proc.stderr
    assert not util.is_fuse_mounted(mnt)


@pytest.mark.timeout(120)
def test_c_program_against_package(installed, tmp_path):
    flags = util.run(["pkg-config", "--cflags", "--libs", "mmapio"],
                     check=True).stdout.split()
    src = tmp_path / "hello.c"
    src.write_text(C_PROGRAM)
    exe = tmp_path / "hello"
    cc = util.run(["cc", "-std=c11", "-Wall", "-Werror", str(src), "-o",
                   str(exe), *flags], timeout=120)
    assert cc.returncode == 0, cc.stdout + cc.stderr
    run = util.run([str(exe), str(tmp_path / "data")])
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "libmmapio 0.1.0 len=4096 pending=0 read=hello\n"
    ldd = util.run(["ldd", str(exe)]).stdout
    assert re.search(rf"{re.escape(SONAME)} => (/usr)?/lib/", ldd), ldd


def complete(command, words):
    """What the installed bash completion offers for the last word."""
    script = (". /usr/share/bash-completion/bash_completion\n"
              f". /usr/share/bash-completion/completions/{command}\n"
              f"COMP_WORDS=({' '.join(words)}); "
              f"COMP_CWORD={len(words) - 1}; "
              f"COMP_LINE='{' '.join(words)}'; COMP_POINT=${{#COMP_LINE}}\n"
              f"_{command} {command} '{words[-1]}' '{words[-2]}'\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    return util.run(["bash", "-c", script], check=True,
                    timeout=30).stdout.split()


@pytest.mark.skipif(not os.path.exists("/usr/share/bash-completion/"
                                       "bash_completion"),
                    reason="bash-completion not installed")
def test_bash_completion(installed):
    assert complete("mmapfsctl", ["mmapfsctl", "st"]) == ["stats"]
    assert complete("mmapfsctl", ["mmapfsctl", "advise", "f", "seq"]) == \
        ["sequential"]
    assert complete("mmapfs", ["mmapfs", "-o", "flu"]) == ["flush="]
    assert complete("mmapfs", ["mmapfs", "-o", "ro,log_level=d"]) == \
        ["ro,log_level=debug"]
    assert complete("mmapfs", ["mmapfs", "--check"]) == ["--check-config"]


def test_template_unit_verifies(installed, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    units = tmp_path / "units"
    units.mkdir()
    text = Path("/lib/systemd/system/mmapfs@.service").read_text()
    assert f"ExecStart={INSTALLED_DAEMON} " in text
    assert "Type=notify" in text
    (units / "mmapfs@srv-data.service").write_text(text)
    mount_unit = units / "srv-data.mount"
    shutil.copy("/usr/share/doc/mmapfs/examples/srv-data.mount", mount_unit)
    proc = util.run(["systemd-analyze", "verify", "--man=no",
                     str(units / "mmapfs@srv-data.service"),
                     str(mount_unit)], timeout=60)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if "mmapfs@" in line or "srv-data.mount" in line]
    assert not problems, proc.stdout + proc.stderr
