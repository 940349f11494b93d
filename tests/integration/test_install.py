"""Installation and system integration (issue 9): `meson install` into a
DESTDIR, the installed library as a C program sees it, the man pages, and
mounting through mount(8) and an fstab line.

Design: one DESTDIR per module (`meson install --no-rebuild --destdir`),
its layout read from `meson introspect --buildoptions` (prefix, bindir,
libdir, ...), so the test follows whatever prefix the build was set up
with. Nothing is installed outside the DESTDIR.

mount(8) runs mount.fuse3, which runs `mmapfs` found on PATH: the test
puts a directory holding a symlink to the build's daemon first on PATH.
The daemon forks into the background; the test makes itself a child
subreaper (test_signals.subreaper) so it can collect the daemon's exit
status after umount, and signals only the pid whose executable is the
build's daemon and whose arguments hold the test's mountpoint. Every mount
is unmounted in a finally clause.
"""

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

import conftest
import util
from test_signals import reap, subreaper

BUILD_DIR = conftest.REPO / conftest.BUILD
SH_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAN_PAGES = ("man8/mmapfs.8", "man1/mmapfsctl.1", "man5/mmapfs.ini.5")


def build_options():
    out = util.run(["meson", "introspect", str(BUILD_DIR), "--buildoptions"],
                   timeout=60, check=True).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


class Installed:
    def __init__(self, destdir):
        opts = build_options()
        self.destdir = destdir
        self.prefix = Path(opts["prefix"])
        # A sanitizer build's library needs the runtime in the program.
        sanitize = opts.get("b_sanitize", "none")
        self.sanitize_flags = [] if sanitize == "none" else \
            [f"-fsanitize={sanitize}"]

        def under(name):
            d = Path(opts[name])
            return destdir / (d if d.is_absolute() else self.prefix / d) \
                .relative_to("/")
        self.bindir = under("bindir")
        self.libdir = under("libdir")
        self.includedir = under("includedir")
        self.mandir = under("mandir")
        self.datadir = under("datadir")
        self.sysconfdir = under("sysconfdir")
        self.helperdir = under("mount_helper_dir")
        self.bindir_installed = Path(opts["bindir"]) if \
            Path(opts["bindir"]).is_absolute() else \
            self.prefix / opts["bindir"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not (BUILD_DIR / "build.ninja").exists():
        pytest.fail(f"no build in {BUILD_DIR} (MMAPFS_BUILD)", pytrace=False)
    destdir = tmp_path_factory.mktemp("destdir")
    proc = util.run(["meson", "install", "-C", str(BUILD_DIR), "--no-rebuild",
                     "--destdir", str(destdir)], timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Installed(destdir)


@pytest.mark.timeout(180)
def test_layout(installed):
    i = installed
    for exe in ("mmapfs", "mmapfsctl"):
        assert os.access(i.bindir / exe, os.X_OK), exe
    real = i.libdir / "libmmapio.so.1.0.0"
    assert real.is_file() and not real.is_symlink()
    assert os.readlink(i.libdir / "libmmapio.so.1") == "libmmapio.so.1.0.0"
    assert os.readlink(i.libdir / "libmmapio.so") == "libmmapio.so.1"
    assert (i.includedir / "mmapio.h").is_file()
    assert (i.libdir / "pkgconfig" / "mmapio.pc").is_file()
    assert (i.datadir / "doc" / "mmapfs" / "examples" / "mmapfs.ini") \
        .read_bytes() == (conftest.REPO / "conf" / "mmapfs.ini").read_bytes()
    for page in MAN_PAGES:
        assert (i.mandir / page).is_file(), page
    assert (i.sysconfdir / "mmapfs" / "mmapfs.ini").read_bytes() == \
        (conftest.REPO / "conf" / "mmapfs.ini").read_bytes()
    helper = i.helperdir / "mount.mmapfs"
    assert os.access(helper, os.X_OK)
    assert f"MMAPFS='{i.bindir_installed}/mmapfs'" in helper.read_text()
    assert os.readlink(i.helperdir / "mount.fuse.mmapfs") == "mount.mmapfs"
    units = list(i.destdir.rglob("mmapfs@.service"))
    assert len(units) == 1, units
    assert f"ExecStart={i.bindir_installed}/mmapfs " in units[0].read_text()
    for name in ("mmapfs", "mmapfsctl"):
        assert (i.datadir / "bash-completion" / "completions" / name) \
            .is_file(), name


def test_soname(installed):
    out = util.run(["readelf", "-d", str(installed.libdir /
                                          "libmmapio.so.1.0.0")],
                   check=True).stdout
    assert "Library soname: [libmmapio.so.1]" in out, out


def defined_dynamic_symbols(lib):
    out = util.run(["nm", "-D", "--defined-only", "--without-symbol-versions",
                    str(lib)],
                   check=True).stdout
    return {line.split()[2] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] in "TtDdBbRrWw"}


def test_exports_only_public_api(installed):
    header = (installed.includedir / "mmapio.h").read_text()
    exported = defined_dynamic_symbols(installed.libdir / "libmmapio.so.1")
    exported.discard("MMAPIO_1")
    declared = set(re.findall(r"\b(mmapio_\w+)\s*\(", header))
    assert exported, "nothing exported"
    assert exported <= declared, sorted(exported - declared)
    # Every function of the header is there, and the private ones are not.
    assert declared - exported <= set(), sorted(declared - exported)
    for private in ("mmapio__flusher_arm", "mmapio__accum_mark", "mmapio__sys"):
        assert private not in exported


C_PROGRAM = r"""
#include <mmapio.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct mmapio_file *f;
	char buf[6] = { 0 };
	int res;

	if (argc != 2)
		return 2;
	res = mmapio_create_rw(argv[1], 4096, &f);
	if (res < 0)
		return 3;
	if (mmapio_write(f, 10, "hello", 5) < 0 ||
	    mmapio_read(f, 10, buf, 5) < 0 || mmapio_flush(f) < 0)
		return 4;
	printf("libmmapio %s len=%llu pending=%llu read=%s\n",
	       mmapio_version(), (unsigned long long)mmapio_len(f),
	       (unsigned long long)mmapio_pending_bytes(f), buf);
	return mmapio_close(f) < 0 ? 5 : 0;
}
"""


@pytest.mark.timeout(120)
def test_c_program_against_installed_library(installed, tmp_path):
    env = dict(os.environ,
               PKG_CONFIG_SYSROOT_DIR=str(installed.destdir),
               PKG_CONFIG_PATH=str(installed.libdir / "pkgconfig"),
               PKG_CONFIG_LIBDIR="")
    flags = util.run(["pkg-config", "--cflags", "--libs", "mmapio"],
                     env=env, check=True).stdout.split()
    assert f"-I{installed.includedir}" in flags, flags
    assert f"-L{installed.libdir}" in flags, flags
    src = tmp_path / "hello.c"
    src.write_text(C_PROGRAM)
    exe = tmp_path / "hello"
    cc = util.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                   *installed.sanitize_flags, str(src), "-o", str(exe),
                   *flags], timeout=120)
    assert cc.returncode == 0, cc.stdout + cc.stderr
    run = util.run([str(exe), str(tmp_path / "data")],
                   env=dict(conftest.daemon_env(),
                            LD_LIBRARY_PATH=str(installed.libdir)))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "libmmapio 0.1.0 len=4096 pending=0 read=hello\n"
    assert (tmp_path / "data").read_bytes()[10:15] == b"hello"
    ldd = util.run(["ldd", str(exe)],
                   env=dict(os.environ,
                            LD_LIBRARY_PATH=str(installed.libdir))).stdout
    assert str(installed.libdir / "libmmapio.so.1") in ldd, ldd


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(installed, page):
    proc = util.run(["man", "--warnings", "-l", str(installed.mandir / page)],
                    env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING=""))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    assert "NAME" in proc.stdout and len(proc.stdout.splitlines()) > 20


def test_installed_programs_run(installed):
    version = util.run([str(installed.bindir / "mmapfs"), "--version"],
                       check=True).stdout
    assert version.startswith("mmapfs 0.1.0 "), version
    ctl = util.run([str(installed.bindir / "mmapfsctl"), "--help"])
    assert ctl.returncode == 0 and "usage" in ctl.stdout.lower(), ctl


def man_text(page):
    return util.run(["man", "-l", str(conftest.REPO / "docs" / "man" / page)],
                    env=dict(os.environ, MANWIDTH="200"),
                    check=True).stdout


def test_mmapfs_man_page_matches_help(daemon):
    """Every option and exit status of `mmapfs --help` is in mmapfs(8)."""
    help_text = util.run([str(daemon), "--help"], check=True).stdout
    page = re.sub(r"\s+", " ", man_text("mmapfs.8"))
    options = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", help_text))
    options |= set(re.findall(r"-o (\w+)=", help_text))
    missing = sorted(o for o in options if o not in page)
    assert not missing, missing
    statuses = re.findall(r"^  ([0-9])  ", help_text, flags=re.M)
    assert statuses == ["0", "1", "2", "3"], statuses
    exit_section = page[page.index("EXIT STATUS"):]
    for status in statuses:
        assert re.search(rf"\b{status}\b", exit_section), status


def test_mmapfsctl_man_page_matches_help():
    ctl = conftest.REPO / BUILD_DIR / "src" / "tools" / "mmapfsctl"
    help_text = util.run([str(ctl), "--help"]).stdout
    page = man_text("mmapfsctl.1")
    commands = help_text[help_text.index("Commands"):
                         help_text.index("Options:")]
    verbs = re.findall(r"^  ([a-z]+) ", commands, flags=re.M)
    assert len(verbs) >= 8, help_text
    missing = sorted(v for v in set(verbs) if v not in page)
    assert not missing, missing


def test_mmapfs_ini_man_page_lists_every_key():
    """mmapfs.ini(5) names every key of docs/configuration.md's table."""
    reference = (conftest.REPO / "docs" / "configuration.md").read_text()
    keys = re.findall(r"^\| `([a-z_]+)` \|", reference, flags=re.M)
    assert len(keys) >= 10, keys
    page = man_text("mmapfs.ini.5")
    missing = [k for k in keys if k not in page]
    assert not missing, missing


# ---- mount(8) and fstab ---------------------------------------------------

def path_with_daemon(tmp_path):
    """PATH with a directory first that holds `mmapfs` -> the build's
    daemon, as an installed mmapfs would be found by mount.fuse3."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mmapfs").symlink_to(conftest.DAEMON)
    return f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def mounted_daemon_pids(mnt, exe=None):
    """Pids running the daemon (exe, by default the build's) with mnt
    among their arguments."""
    exe = exe or os.path.realpath(conftest.DAEMON)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/exe") != exe:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.fsencode(str(mnt)) in argv:
            pids.append(int(entry))
    return pids


def mount_options(mnt):
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == str(mnt):
                return fields[2], fields[3].split(",")
    return None, []


def env_for(tmp_path):
    env = conftest.daemon_env()
    env["PATH"] = path_with_daemon(tmp_path)
    env["ASAN_OPTIONS"] += f":log_path={tmp_path}/asan"
    env["UBSAN_OPTIONS"] += f":log_path={tmp_path}/ubsan"
    return env


def exercise_and_umount(tmp_path, backing, mnt, exe=None):
    """Checks the mount made by mount(8), writes through it, then umounts
    and collects the daemon's exit status. Always unmounts."""
    pid = None
    try:
        fstype, opts = mount_options(mnt)
        assert fstype == "fuse.mmapfs", fstype
        assert "noatime" in opts, opts
        pids = mounted_daemon_pids(mnt, exe)
        assert len(pids) == 1, pids
        pid = pids[0]
        util.write_file(mnt / "f", b"via mount(8)")
        assert (backing / "f").read_bytes() == b"via mount(8)"
        assert util.read_file(mnt / "f") == b"via mount(8)"
        assert util.run(["umount", str(mnt)]).returncode == 0
        status = reap(pid, conftest.EXIT_TIMEOUT)
        assert status == 0, f"daemon exit status {status}"
        pid = None
    finally:
        if util.is_fuse_mounted(mnt):
            util.run(["fusermount3", "-uz", str(mnt)])
        if pid is not None and reap(pid, conftest.EXIT_TIMEOUT) is None:
            os.kill(pid, signal.SIGKILL)
            reap(pid, conftest.EXIT_TIMEOUT)
    for log in list(tmp_path.glob("asan.*")) + list(tmp_path.glob("ubsan.*")):
        assert not util.sanitizer_lines(log.read_text(errors="replace")), \
            log.read_text(errors="replace")


def make_dirs(tmp_path):
    backing, mnt = tmp_path / "backing", tmp_path / "mnt"
    backing.mkdir()
    mnt.mkdir()
    cfg = tmp_path / "mmapfs.ini"
    cfg.write_text("[global]\nflush = always\n")
    return backing, mnt, cfg


@pytest.mark.timeout(90)
def test_mount_fuse3_type_fuse_mmapfs(tmp_path):
    """What `mount -t fuse.mmapfs BACKING MNT -o rw,noatime,config=...`
    runs: mount.fuse3 with the type, which finds mmapfs on PATH and passes
    the options (rw and noatime are mount(8)'s, accepted by the daemon).
    mount(8) itself drops PATH before running the helper (see
    test_mount_8_type_fuse_mmapfs), so the helper is run directly here."""
    backing, mnt, cfg = make_dirs(tmp_path)
    with subreaper():
        proc = util.run(["mount.fuse3", str(backing), str(mnt), "-t",
                         "fuse.mmapfs", "-o", f"rw,noatime,config={cfg}"],
                        timeout=30, env=env_for(tmp_path))
        try:
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert util.is_fuse_mounted(mnt)
        finally:
            exercise_and_umount(tmp_path, backing, mnt)


@pytest.mark.timeout(90)
def test_mount_8_type_fuse_mmapfs(tmp_path):
    """mount -t fuse.mmapfs through mount(8). mount(8) runs mount.fuse3
    without the caller's PATH, so /bin/sh's default PATH must find mmapfs
    (/usr/local/bin after a default `meson install`); the test installs
    nothing there, so it runs only where an mmapfs is installed, and then
    with the installed daemon."""
    found = shutil.which("mmapfs", path=SH_DEFAULT_PATH)
    if not found:
        pytest.skip("no mmapfs in /bin/sh's default PATH (mount(8) drops "
                    "PATH); covered by test_mount_fuse3_type_fuse_mmapfs")
    backing, mnt, cfg = make_dirs(tmp_path)
    with subreaper():
        proc = util.run(["mount", "-t", "fuse.mmapfs", "-o",
                         f"rw,noatime,config={cfg}", str(backing), str(mnt)],
                        timeout=30, env=env_for(tmp_path))
        try:
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert util.is_fuse_mounted(mnt)
        finally:
            exercise_and_umount(tmp_path, backing, mnt,
                                exe=os.path.realpath(found))


@pytest.mark.timeout(90)
def test_fstab_line(tmp_path):
    """An fstab line, read by mount(8) from a test fstab (mount -T), in the
    PROGRAM#SOURCE form of type fuse (the build is not on PATH)."""
    backing, mnt, cfg = make_dirs(tmp_path)
    fstab = tmp_path / "fstab"
    fstab.write_text("# test fstab\n"
                     f"{conftest.DAEMON}#{backing}  {mnt}  fuse  "
                     f"config={cfg},noatime,nofail,_netdev  0  0\n")
    with subreaper():
        proc = util.run(["mount", "-T", str(fstab), str(mnt)], timeout=30,
                        env=env_for(tmp_path))
        try:
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert util.is_fuse_mounted(mnt)
        finally:
            exercise_and_umount(tmp_path, backing, mnt)


def test_systemd_units_verify(tmp_path):
    """systemd-analyze verify accepts the example units (with the paths
    they name replaced by ones that exist here)."""
    if not os.path.exists("/usr/bin/systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    units = tmp_path / "units"
    units.mkdir()
    bindir = Installed(tmp_path).bindir_installed
    text = (BUILD_DIR / "conf" / "mmapfs@.service").read_text()
    assert f"ExecStart={bindir}/mmapfs " in text
    text = text.replace(f"{bindir}/mmapfs", str(conftest.DAEMON))
    (units / "mmapfs@srv-data.service").write_text(text)
    shutil.copy(conftest.REPO / "conf" / "systemd" / "srv-data.mount", units)
    proc = util.run(["systemd-analyze", "verify", "--man=no",
                     str(units / "mmapfs@srv-data.service"),
                     str(units / "srv-data.mount")], timeout=60)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if "mmapfs@" in line or "srv-data.mount" in line]
    assert not problems, proc.stdout + proc.stderr
    assert not problems, problems
