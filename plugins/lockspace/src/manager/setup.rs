//! Building a manager: `drvNew`'s domain parameters and `drvAddResource`'s resources,
//! each checked (unknown keys, types and flags are errors, as in libvirt's `lockd.so`).

use super::*;

/// A C string parameter's value (STRING or CSTRING), `None` when NULL.
///
/// # Safety
/// `p` is a parameter handed in by C; its string pointer, if any, is a C string.
unsafe fn param_str(p: &virLockManagerParam, key: &str) -> Result<Option<String>> {
    if p.r#type != VIR_LOCK_MANAGER_PARAM_TYPE_STRING
        && p.r#type != VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING
    {
        return Err(Error::invalid_arg(format!(
            "parameter '{key}' must be a string (type {})",
            p.r#type
        )));
    }
    let s = p.value.cstr;
    if s.is_null() {
        return Ok(None);
    }
    std::ffi::CStr::from_ptr(s)
        .to_str()
        .map(|s| Some(s.to_string()))
        .map_err(|_| Error::invalid_arg(format!("parameter '{key}' is not UTF-8")))
}

fn param_uint(p: &virLockManagerParam, key: &str) -> Result<u64> {
    // SAFETY: reading the union member that the type tag says is set.
    unsafe {
        match p.r#type {
            VIR_LOCK_MANAGER_PARAM_TYPE_UINT => Ok(p.value.ui as u64),
            VIR_LOCK_MANAGER_PARAM_TYPE_ULONG => Ok(p.value.ul),
            VIR_LOCK_MANAGER_PARAM_TYPE_INT if p.value.iv >= 0 => Ok(p.value.iv as u64),
            VIR_LOCK_MANAGER_PARAM_TYPE_LONG if p.value.l >= 0 => Ok(p.value.l as u64),
            t => Err(Error::invalid_arg(format!(
                "parameter '{key}' must be a non-negative integer (type {t})"
            ))),
        }
    }
}

/// The parameters as (key, param) pairs, each key and type checked.
///
/// # Safety
/// `params` points to `nparams` parameters (or is NULL with `nparams` 0).
unsafe fn params<'a>(
    nparams: usize,
    params: *const virLockManagerParam,
) -> Result<Vec<(String, &'a virLockManagerParam)>> {
    if nparams == 0 {
        return Ok(Vec::new());
    }
    if params.is_null() {
        return Err(Error::invalid_arg(format!(
            "params is NULL but nparams is {nparams}"
        )));
    }
    let slice = std::slice::from_raw_parts(params, nparams);
    let mut out = Vec::with_capacity(nparams);
    for (i, p) in slice.iter().enumerate() {
        if p.key.is_null() {
            return Err(Error::invalid_arg(format!("parameter {i} has a NULL key")));
        }
        let key = std::ffi::CStr::from_ptr(p.key)
            .to_string_lossy()
            .into_owned();
        if !(VIR_LOCK_MANAGER_PARAM_TYPE_STRING..=VIR_LOCK_MANAGER_PARAM_TYPE_UUID)
            .contains(&p.r#type)
        {
            return Err(Error::invalid_arg(format!(
                "parameter '{key}' has unknown type {}",
                p.r#type
            )));
        }
        out.push((key, p));
    }
    Ok(out)
}

impl Manager {
    /// `drvNew`: a manager for one domain, from its `uuid`, `name`, `id`, `pid`, `uri`.
    ///
    /// # Safety
    /// As for [`params`].
    pub unsafe fn new(
        obj_type: u32,
        nparams: usize,
        raw: *const virLockManagerParam,
        flags: u32,
    ) -> Result<Manager> {
        if flags & !VIR_LOCK_MANAGER_NEW_STARTED != 0 {
            return Err(Error::invalid_arg(format!(
                "lockspace drvNew: unsupported flags (0x{:x})",
                flags & !VIR_LOCK_MANAGER_NEW_STARTED
            )));
        }
        if obj_type != VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN {
            return Err(Error::invalid_arg(format!(
                "unknown lock manager object type {obj_type}"
            )));
        }
        let config = lock(&DRIVER).config.clone().ok_or_else(|| {
            Error::new(
                VIR_ERR_OPERATION_INVALID,
                "lockspace driver is not initialized (drvInit was not called)",
            )
        })?;
        let mut uuid = None;
        let mut name = None;
        let mut guest_pid = 0;
        for (key, p) in params(nparams, raw)? {
            match key.as_str() {
                "uuid" => {
                    if p.r#type != VIR_LOCK_MANAGER_PARAM_TYPE_UUID {
                        return Err(Error::invalid_arg(format!(
                            "parameter 'uuid' must be a UUID (type {})",
                            p.r#type
                        )));
                    }
                    uuid = Some(p.value.uuid);
                }
                "name" => name = param_str(p, "name")?,
                "id" => {
                    param_uint(p, &key)?;
                }
                "pid" => {
                    let v = param_uint(p, &key)?;
                    guest_pid = u32::try_from(v)
                        .ok()
                        .filter(|&v| v <= i32::MAX as u32)
                        .ok_or_else(|| Error::invalid_arg(format!("invalid pid {v}")))?;
                }
                "uri" => {
                    param_str(p, "uri")?;
                }
                other => {
                    return Err(Error::invalid_arg(format!(
                        "unexpected parameter '{other}' for domain object"
                    )))
                }
            }
        }
        let name = name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::invalid_arg("missing 'name' parameter for domain object"))?;
        let uuid = uuid.filter(|u| u.iter().any(|&b| b != 0)).ok_or_else(|| {
            Error::invalid_arg(format!(
                "missing or all-zero 'uuid' parameter for domain '{name}'"
            ))
        })?;
        Ok(Manager {
            config,
            owner: Owner {
                uuid,
                name,
                pid: guest_pid,
            },
            resources: Vec::new(),
            guest: None,
            probes: Default::default(),
            proven: Default::default(),
        })
    }

    /// `drvAddResource`.
    ///
    /// # Safety
    /// As for [`params`].
    pub unsafe fn add_resource(
        &mut self,
        res_type: u32,
        name: &str,
        nparams: usize,
        raw: *const virLockManagerParam,
        flags: u32,
    ) -> Result<()> {
        let known = VIR_LOCK_MANAGER_RESOURCE_READONLY | VIR_LOCK_MANAGER_RESOURCE_SHARED;
        if flags & !known != 0 {
            return Err(Error::invalid_arg(format!(
                "lockspace drvAddResource: unsupported flags (0x{:x})",
                flags & !known
            )));
        }
        check_restrict(&format!("adding resource '{name}' to {}", self.domain()))?;
        let params = params(nparams, raw)?;
        let target = match res_type {
            VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK => {
                if let Some((key, _)) = params.first() {
                    return Err(Error::invalid_arg(format!(
                        "unexpected parameter '{key}' for disk '{name}'"
                    )));
                }
                Target::Disk {
                    path: lease::canonical_disk_path(name)?,
                }
            }
            VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE => {
                let (mut key, mut lockspace, mut path, mut offset) = (None, None, None, 0);
                for (k, p) in &params {
                    match k.as_str() {
                        "path" => path = param_str(p, k)?,
                        "lockspace" => lockspace = param_str(p, k)?,
                        "key" => key = param_str(p, k)?,
                        "offset" => offset = param_uint(p, k)?,
                        other => {
                            return Err(Error::invalid_arg(format!(
                                "unexpected parameter '{other}' for lease '{name}'"
                            )))
                        }
                    }
                }
                if let Some(p) = &path {
                    if !p.starts_with('/') {
                        return Err(Error::invalid_arg(format!(
                            "lease '{name}': path '{p}' is not absolute"
                        )));
                    }
                }
                if offset > i64::MAX as u64 {
                    return Err(Error::invalid_arg(format!(
                        "lease '{name}': offset {offset} is too large"
                    )));
                }
                Target::Lease {
                    key: key.unwrap_or_else(|| name.to_string()),
                    lockspace: lockspace.filter(|s| !s.is_empty()),
                    path: path.filter(|s| !s.is_empty()),
                    offset,
                }
            }
            t => {
                return Err(Error::invalid_arg(format!(
                    "unknown resource type {t} for '{name}'"
                )))
            }
        };
        // Read-only use takes no lock at all, as in libvirt's lockd.
        if flags & VIR_LOCK_MANAGER_RESOURCE_READONLY != 0 {
            return Ok(());
        }
        let shared = flags & VIR_LOCK_MANAGER_RESOURCE_SHARED != 0;
        for res in resources_for(&self.config, target, shared)? {
            if let Some(r) = self.resources.iter_mut().find(|r| r.target == res.target) {
                // The same resource twice: exclusive wins.
                r.shared &= shared;
                continue;
            }
            self.resources.push(res);
        }
        Ok(())
    }
}
