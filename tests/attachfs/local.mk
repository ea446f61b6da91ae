# tests/attachfs: mergefs's /PID/merge for processes without the library,
# through `ksmpreload attach` (issue 11); needs the attach test programs.
if KSMP_ATTACH
TESTS += tests/attachfs/attachfs.sh tests/attachfs/attachfs_stale.sh \
	tests/attachfs/attachfs_limits.sh tests/attachfs/attachfs_caller.sh
endif
EXTRA_DIST += tests/attachfs/attachfs_common.sh tests/attachfs/attachfs.sh tests/attachfs/attachfs_stale.sh \
	tests/attachfs/attachfs_limits.sh \
	tests/attachfs/attachfs_caller.sh
