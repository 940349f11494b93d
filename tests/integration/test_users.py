"""Multi-user behaviour (docs/architecture.md): mounted by root with -o allow_other,
objects are created with the requester's uid, gid and supplementary groups,
and permission checks behave as on a local disk.

Operations as other users run in child processes (util.run_as) with their
own credentials; the mount lives in a world-traversable directory.
"""

import os
import stat

import pytest

import util
from util import fs

ALICE = (1000, 1000)
BOB = (1001, 1001)
STAFF = 2000


@pytest.fixture
def shared(mount_factory):
    m = mount_factory(opts=["allow_other"], world=True)
    fs.chmod(m.mnt, 0o777)
    return m


def as_alice(code, groups=()):
    return util.run_as(*ALICE, code, groups=groups)


def as_bob(code, groups=()):
    return util.run_as(*BOB, code, groups=groups)


def test_create_owned_by_requester(shared):
    base = str(shared.mnt)
    result = as_alice(f"""
create({base + '/file'!r}, 0o640, b'alice')
os.mkdir({base + '/dir'!r}, 0o750)
os.symlink('file', {base + '/link'!r})
os.mkfifo({base + '/fifo'!r}, 0o600)
os.link({base + '/file'!r}, {base + '/hardlink'!r})
result = 'done'
""")
    assert result == "done"
    for name in ("file", "dir", "fifo", "hardlink"):
        st = fs.stat(shared.mnt / name)
        assert (st.st_uid, st.st_gid) == ALICE, name
        bst = os.stat(shared.backing / name)
        assert (bst.st_uid, bst.st_gid) == ALICE, name
    lst = os.lstat(shared.backing / "link")
    assert (lst.st_uid, lst.st_gid) == ALICE
    assert stat.S_IMODE(os.stat(shared.backing / "file").st_mode) == 0o640
    assert (shared.backing / "file").read_bytes() == b"alice"


def test_root_creates_as_root(shared):
    util.write_file(shared.mnt / "rootfile", b"r")
    bst = os.stat(shared.backing / "rootfile")
    assert (bst.st_uid, bst.st_gid) == (0, 0)


def test_setgid_directory_and_supplementary_group(shared):
    """A 2770 dir of group staff: members create files of group staff,
    non-members are refused."""
    d = shared.mnt / "team"
    fs.mkdir(d)
    fs.chown(d, 0, STAFF)
    fs.chmod(d, 0o2770)
    path = str(d / "alice-file")
    result = as_alice(f"create({path!r}); result = os.stat({path!r}).st_gid",
                      groups=[STAFF])
    assert result == STAFF
    bst = os.stat(shared.backing / "team" / "alice-file")
    assert (bst.st_uid, bst.st_gid) == (ALICE[0], STAFF)
    assert as_bob(f"result = E(create, {str(d / 'bob-file')!r})") == "EACCES"


def test_group_write_through_supplementary_group(shared):
    util.write_file(shared.mnt / "g", b"group file")
    fs.chown(shared.mnt / "g", 0, STAFF)
    fs.chmod(shared.mnt / "g", 0o660)
    path = str(shared.mnt / "g")
    assert as_alice(f"result = E(writeall, {path!r}, b'GROUP')",
                    groups=[STAFF]) == "OK"
    assert as_alice(f"result = E(readall, {path!r})") == "EACCES"
    assert (shared.backing / "g").read_bytes() == b"GROUP file"


def test_chown_to_own_group_only(shared):
    path = str(shared.mnt / "mine")
    result = as_alice(f"""
create({path!r})
result = [E(os.chown, {path!r}, -1, {STAFF}), E(os.chown, {path!r}, -1, 3000),
          E(os.chown, {path!r}, {BOB[0]}, -1)]
""", groups=[STAFF])
    assert result == ["OK", "EPERM", "EPERM"]
    assert os.stat(shared.backing / "mine").st_gid == STAFF


def test_eacces_cases(shared):
    util.write_file(shared.mnt / "secret", b"root only")
    fs.chmod(shared.mnt / "secret", 0o600)
    fs.mkdir(shared.mnt / "closed")
    fs.chmod(shared.mnt / "closed", 0o755)
    util.write_file(shared.mnt / "closed" / "inside", b"readable")
    fs.chmod(shared.mnt / "closed" / "inside", 0o644)
    fs.mkdir(shared.mnt / "private")
    fs.chmod(shared.mnt / "private", 0o700)
    m = str(shared.mnt)
    result = as_alice(f"""
result = {{
    'read_secret': E(readall, {m + '/secret'!r}),
    'write_secret': E(writeall, {m + '/secret'!r}, b'x'),
    'create_in_closed': E(create, {m + '/closed/new'!r}),
    'unlink_in_closed': E(os.unlink, {m + '/closed/inside'!r}),
    'read_in_closed': R(readall, {m + '/closed/inside'!r}),
    'list_private': E(os.listdir, {m + '/private'!r}),
    'stat_in_private': E(os.stat, {m + '/private/x'!r}),
    'chmod_secret': E(os.chmod, {m + '/secret'!r}, 0o666),
    'chown_secret': E(os.chown, {m + '/secret'!r}, 1000, 1000),
    'truncate_secret': E(os.truncate, {m + '/secret'!r}, 0),
    'utime_secret': E(os.utime, {m + '/secret'!r}),
}}
""")
    assert result == {
        "read_secret": "EACCES",
        "write_secret": "EACCES",
        "create_in_closed": "EACCES",
        "unlink_in_closed": "EACCES",
        "read_in_closed": "readable",
        "list_private": "EACCES",
        "stat_in_private": "EACCES",
        "chmod_secret": "EPERM",
        "chown_secret": "EPERM",
        "truncate_secret": "EACCES",
        "utime_secret": "EACCES",
    }
    assert (shared.backing / "secret").read_bytes() == b"root only"


def test_sticky_directory(shared):
    fs.mkdir(shared.mnt / "tmp")
    fs.chmod(shared.mnt / "tmp", 0o1777)
    path = str(shared.mnt / "tmp" / "alices")
    assert as_alice(f"create({path!r}); result = 'ok'") == "ok"
    assert as_bob(f"result = E(os.unlink, {path!r})") == "EPERM"
    assert as_alice(f"result = E(os.unlink, {path!r})") == "OK"


def test_shared_file_opened_by_two_users(shared):
    """The inode's mapping is the daemon's, whoever opened first: a reader
    opening first must not make a later writer's writes fail."""
    path = str(shared.mnt / "both")
    util.write_file(shared.mnt / "both", b"0123456789")
    fs.chmod(shared.mnt / "both", 0o666)
    fd = fs.open(path, os.O_RDONLY)
    try:
        assert as_alice(f"writeall({path!r}, b'AB'); result = 'ok'") == "ok"
        assert fs.pread(fd, 10, 0) == b"AB23456789"
    finally:
        fs.close(fd)
    assert (shared.backing / "both").read_bytes() == b"AB23456789"


def test_user_sees_mode_of_created_file(shared):
    path = str(shared.mnt / "umasked")
    result = as_alice(f"""
fd = os.open({path!r}, os.O_CREAT | os.O_WRONLY, 0o666)
os.close(fd)
result = oct(os.stat({path!r}).st_mode & 0o7777)
""")
    assert result == oct(0o644)  # run_as uses umask 022


def test_without_allow_other_others_are_refused(mount_factory):
    m = mount_factory(world=True)
    fs.chmod(m.mnt, 0o777)
    util.write_file(m.mnt / "f", b"x")
    fs.chmod(m.mnt / "f", 0o666)
    assert as_alice(f"result = E(os.stat, {str(m.mnt / 'f')!r})") == "EACCES"


def test_writes_and_truncation_drop_setuid_setgid(shared):
    """As on a local disk: a write or a truncation by a user without
    CAP_FSETID clears set-user-ID, and set-group-ID of a group-executable
    file (set-group-ID without group execute stays); root's writes keep
    both. The kernel or the daemon may do it (killpriv_v2), the client
    sees the same."""
    base = str(shared.mnt)
    as_alice(f"""
for name in ('w', 'nogx', 't', 'otrunc'):
    create({base!r} + '/' + name, 0o666, b'0123456789')
result = 'done'
""")
    util.write_file(shared.mnt / "root", b"0123456789")
    for name, mode in (("w", 0o6777), ("nogx", 0o2766), ("t", 0o6777),
                       ("otrunc", 0o6777), ("root", 0o6777)):
        fs.chmod(shared.mnt / name, mode)
    result = as_alice(f"""
fd = os.open({base + '/w'!r}, os.O_WRONLY)
os.pwrite(fd, b'x', 3)
os.close(fd)
fd = os.open({base + '/nogx'!r}, os.O_WRONLY)
os.pwrite(fd, b'x', 3)
os.close(fd)
os.truncate({base + '/t'!r}, 4)
os.close(os.open({base + '/otrunc'!r}, os.O_WRONLY | os.O_TRUNC))
result = 'done'
""")
    assert result == "done"
    fd = fs.open(shared.mnt / "root", os.O_WRONLY)
    try:
        fs.pwrite(fd, b"x", 3)
    finally:
        fs.close(fd)
    want = {"w": 0o777, "nogx": 0o2766, "t": 0o777, "otrunc": 0o777,
            "root": 0o6777}
    for name, mode in want.items():
        assert stat.S_IMODE(os.stat(shared.backing / name).st_mode) == mode, \
            name
        assert stat.S_IMODE(fs.stat(shared.mnt / name).st_mode) == mode, name
    assert (shared.backing / "w").read_bytes() == b"012x456789"
    assert (shared.backing / "t").read_bytes() == b"0123"
    assert (shared.backing / "otrunc").read_bytes() == b""
