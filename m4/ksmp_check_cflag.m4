# KSMP_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
# Compiles an empty program with FLAG (and -Werror, so that flags the
# compiler merely warns about are refused too).
AC_DEFUN([KSMP_CHECK_CFLAG], [
	AS_VAR_PUSHDEF([ksmp_var], [ksmp_cv_cflag_$1])
	AC_CACHE_CHECK([whether $CC accepts $1], [ksmp_var], [
		ksmp_save_CFLAGS=$CFLAGS
		ksmp_save_LDFLAGS=$LDFLAGS
		CFLAGS="$CFLAGS -Werror $1"
		LDFLAGS="$LDFLAGS $1"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
			[AS_VAR_SET([ksmp_var], [yes])], [AS_VAR_SET([ksmp_var], [no])])
		CFLAGS=$ksmp_save_CFLAGS
		LDFLAGS=$ksmp_save_LDFLAGS
	])
	AS_VAR_IF([ksmp_var], [yes], [$2], [$3])
	AS_VAR_POPDEF([ksmp_var])
])
