# include: headers shared across components.
noinst_HEADERS += include/ksmp_state.h include/ksmp_ksmd.h include/ksmp_pagemap.h \
	include/ksmp_state_read.h
