//! The C edge: every exported function runs its body through [`call`], which
//!
//! * catches panics, so none ever crosses into C (it becomes `VIR_ERR_INTERNAL_ERROR`);
//! * turns an `Err` into the thread's last error and the function's error value
//!   ([`ErrorValue`]: -1 for `int`, NULL for pointers, `false` for `bool`);
//! * gives the body a [`Cx`] with the checks libvirt's entry points do: non-NULL
//!   arguments, valid C strings, `virCheckFlags`, each naming the function and argument.

use std::ffi::{c_char, c_int, c_uint, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{virErrorDomain, virErrorNumber, Error};

/// What an exported function returns when it fails.
pub trait ErrorValue {
    fn error_value() -> Self;
}
impl ErrorValue for c_int {
    fn error_value() -> Self {
        -1
    }
}
impl ErrorValue for i64 {
    fn error_value() -> Self {
        -1
    }
}
impl ErrorValue for isize {
    fn error_value() -> Self {
        -1
    }
}
impl ErrorValue for bool {
    fn error_value() -> Self {
        false
    }
}
impl ErrorValue for () {
    fn error_value() -> Self {}
}
impl<T> ErrorValue for *mut T {
    fn error_value() -> Self {
        std::ptr::null_mut()
    }
}
impl<T> ErrorValue for *const T {
    fn error_value() -> Self {
        std::ptr::null()
    }
}

/// Context of one exported call: which function, which error domain.
#[derive(Clone, Copy)]
pub struct Cx {
    pub func: &'static str,
    pub domain: virErrorDomain,
}

impl Cx {
    pub fn error(&self, code: virErrorNumber, message: impl Into<String>) -> Error {
        Error::new(self.domain, code, message)
    }

    pub fn invalid_arg(&self, message: impl Into<String>) -> Error {
        self.error(virErrorNumber::VIR_ERR_INVALID_ARG, message)
    }

    pub fn internal(&self, message: impl Into<String>) -> Error {
        self.error(virErrorNumber::VIR_ERR_INTERNAL_ERROR, message)
    }

    /// libvirt's `virCheckNonNullArg`: "invalid argument: NAME in FUNC must not be NULL".
    pub fn null_arg(&self, name: &str) -> Error {
        self.invalid_arg(format!("{name} in {} must not be NULL", self.func))
    }

    pub fn non_null<T>(&self, p: *mut T, name: &str) -> Result<*mut T, Error> {
        if p.is_null() {
            Err(self.null_arg(name))
        } else {
            Ok(p)
        }
    }

    pub fn non_null_const<T>(&self, p: *const T, name: &str) -> Result<*const T, Error> {
        if p.is_null() {
            Err(self.null_arg(name))
        } else {
            Ok(p)
        }
    }

    /// A non-NULL, UTF-8 C string argument, borrowed for the call.
    ///
    /// # Safety
    /// `p` is NULL or points to a NUL-terminated string that outlives the call.
    pub unsafe fn str_arg<'a>(&self, p: *const c_char, name: &str) -> Result<&'a str, Error> {
        if p.is_null() {
            return Err(self.null_arg(name));
        }
        let b = CStr::from_ptr(p).to_bytes();
        // Most arguments are ASCII (a domain document of a few KB on every parse): that is
        // checked faster than UTF-8 is validated (a non-ASCII one is then validated).
        if b.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8.
            return Ok(std::str::from_utf8_unchecked(b));
        }
        std::str::from_utf8(b)
            .map_err(|_| self.invalid_arg(format!("{name} in {} is not valid UTF-8", self.func)))
    }

    /// Like [`Cx::str_arg`] but NULL is allowed (`None`).
    ///
    /// # Safety
    /// As for [`Cx::str_arg`].
    pub unsafe fn opt_str_arg<'a>(
        &self,
        p: *const c_char,
        name: &str,
    ) -> Result<Option<&'a str>, Error> {
        if p.is_null() {
            Ok(None)
        } else {
            self.str_arg(p, name).map(Some)
        }
    }

    /// libvirt's `virCheckFlags`: any bit outside `allowed` is `VIR_ERR_INVALID_ARG`.
    pub fn check_flags(&self, flags: c_uint, allowed: c_uint) -> Result<(), Error> {
        let unknown = flags & !allowed;
        if unknown != 0 {
            return Err(self.invalid_arg(format!(
                "unsupported flags (0x{unknown:x}) in function {}",
                self.func
            )));
        }
        Ok(())
    }
}

/// Runs the body of exported function `func` behind a panic boundary; see the module docs.
pub fn call<R: ErrorValue>(
    domain: virErrorDomain,
    func: &'static str,
    body: impl FnOnce(Cx) -> Result<R, Error>,
) -> R {
    let cx = Cx { func, domain };
    match catch_unwind(AssertUnwindSafe(|| body(cx))) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            e.report();
            R::error_value()
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            cx.internal(format!(
                "{func}: unexpected failure inside virtcore: {what}"
            ))
            .report();
            R::error_value()
        }
    }
}

/// [`call`] for functions returning nothing (errors are only reported).
pub fn call_void(
    domain: virErrorDomain,
    func: &'static str,
    body: impl FnOnce(Cx) -> Result<(), Error>,
) {
    call::<()>(domain, func, body)
}

/// How an optional C string argument appears in debug logs: its text or `(null)`.
pub fn show(arg: Option<&str>) -> &str {
    arg.unwrap_or("(null)")
}

/// `secure_getenv(3)`: the variable, unless the process runs set-uid/set-gid.
pub fn secure_getenv(name: &str) -> Option<String> {
    let key = CString::new(name).ok()?;
    extern "C" {
        // glibc; not bound by the libc crate.
        fn secure_getenv(name: *const c_char) -> *mut c_char;
    }
    // SAFETY: valid C string; the result is copied out immediately.
    let v = unsafe { secure_getenv(key.as_ptr()) };
    (!v.is_null()).then(|| unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned())
}

/// A NUL-terminated copy of `s` allocated with malloc, for strings whose ownership passes
/// to C (which frees them with `free`). Interior NULs are replaced.
pub fn malloc_cstring(s: &str) -> *mut c_char {
    if memchr::memchr(0, s.as_bytes()).is_some() {
        return malloc_cstring(&s.replace('\0', "\u{fffd}"));
    }
    // One allocation and one copy (this is on every parse and format).
    // SAFETY: `len + 1` bytes are allocated, `len` copied from `s` and the last set to NUL.
    unsafe {
        let p = libc::malloc(s.len() + 1).cast::<u8>();
        if p.is_null() {
            std::alloc::handle_alloc_error(std::alloc::Layout::array::<u8>(s.len() + 1).unwrap());
        }
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        p.add(s.len()).write(0);
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::last_error;

    #[test]
    fn panics_become_internal_errors() {
        let r: c_int = call(virErrorDomain::VIR_FROM_NONE, "testFunc", |_| {
            panic!("boom")
        });
        assert_eq!(r, -1);
        let (code, _, msg) = last_error().unwrap();
        assert_eq!(code, virErrorNumber::VIR_ERR_INTERNAL_ERROR as i32);
        assert!(msg.contains("testFunc") && msg.contains("boom"), "{msg}");
    }

    #[test]
    fn str_args_are_utf8_checked() {
        let cx = Cx {
            func: "virThing",
            domain: virErrorDomain::VIR_FROM_DOMAIN,
        };
        let ok = |b: &[u8]| unsafe {
            cx.str_arg(CString::new(b).unwrap().as_ptr(), "x")
                .map(str::to_owned)
        };
        assert_eq!(ok(b"<domain/>").unwrap(), "<domain/>");
        assert_eq!(ok("<name>é</name>".as_bytes()).unwrap(), "<name>é</name>");
        assert!(ok(b"<name>\xe9</name>").is_err());
    }

    #[test]
    fn flags_and_nulls_name_the_function() {
        let r: *mut u8 = call(virErrorDomain::VIR_FROM_DOMAIN, "virThing", |cx| {
            cx.check_flags(0x5, 0x1)?;
            Ok(std::ptr::null_mut())
        });
        assert!(r.is_null());
        let (code, dom, msg) = last_error().unwrap();
        assert_eq!((code, dom), (8, 20));
        assert_eq!(
            msg,
            "invalid argument: unsupported flags (0x4) in function virThing"
        );
        let r: c_int = call(virErrorDomain::VIR_FROM_DOMAIN, "virThing", |cx| unsafe {
            cx.str_arg(std::ptr::null(), "name")?;
            Ok(0)
        });
        assert_eq!(r, -1);
        assert_eq!(
            last_error().unwrap().2,
            "invalid argument: name in virThing must not be NULL"
        );
    }
}
