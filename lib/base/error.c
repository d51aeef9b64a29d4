/* error.c - the error band of error.h: messages into lode_error, errno
 * values into codes, and the words for each code. */
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const words[] = {
    "failed",
    "invalid input",
    "not found",
    "the store's map is full",
    "damaged data",
    "no space left on the device",
    "input/output error",
    "another writer holds the store",
    "permission denied",
    "not supported",
    "a limit was reached",
    "out of memory",
    "a system call failed",
};

static void vset(lode_error *e, int code, const char *fmt, va_list ap)
{
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

void lode_seterr(lode_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vset(e, LODE_EFAILED, fmt, ap);
    va_end(ap);
}

int lode_fail(lode_error *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vset(e, code, fmt, ap);
        va_end(ap);
    }
    return code;
}

int lode_errno_code(int errnum)
{
    switch (errnum) {
    case 0:
        return LODE_OK;
    case ENOENT:
        return LODE_ENOTFOUND;
    case ENOSPC:
    case EDQUOT:
        return LODE_ENOSPACE;
    case EIO:
        return LODE_EIO;
    case EACCES:
    case EPERM:
    case EROFS:
        return LODE_EACCESS;
    case ENOMEM:
        return LODE_ENOMEM;
    case EINVAL:
        return LODE_EINVAL;
    case EFBIG:
    case EMFILE:
    case ENFILE:
        return LODE_ELIMIT;
    default:
        return LODE_ESYS;
    }
}

const char *lode_strerror(int code)
{
    if (code == LODE_OK)
        return "success";
    if (code > 0)
        return strerror(code);
    if (code >= LODE_EFAILED && code < LODE_ELAST)
        return words[code - LODE_EFAILED];
    return "unknown error";
}
