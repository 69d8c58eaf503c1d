/* cmocka needs these headers first, in this order. */
#ifndef FW_TEST_CM_H
#define FW_TEST_CM_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
