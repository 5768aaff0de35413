//! Linux scheduling classes for shoal's own threads: which thread the kernel runs first when
//! several want the one core a node may have. Best effort everywhere: a refused change (a
//! seccomp profile, another OS) leaves the thread as it was.

/// A non-real-time Linux scheduling policy a thread can be moved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `SCHED_BATCH`: the same share of CPU as a normal thread, but waking up never preempts
    /// the thread that is running; it waits until that one blocks or its slice ends.
    Batch,
    /// `SCHED_IDLE`: runs only on CPU time no other thread wants; any other thread that wakes
    /// up preempts it at once.
    Idle,
}

/// Moves the calling thread to `policy`.
///
/// What [`Policy::Batch`] is for: threads the request threads hand work to (isolate workers,
/// the embedded store's writers). Woken for one item on the core the request thread runs on,
/// such a thread would otherwise take that core at once and go back to sleep after that one
/// item, two context switches per item; in `SCHED_BATCH` the request thread first finishes
/// what is ready (more requests, more records), and the woken thread then takes several in
/// one turn. A thread it starts inherits the class: start long-lived helpers that must wake
/// promptly (a deadline watchdog) elsewhere.
pub fn set_this_thread(policy: Policy) {
    set_thread(0, policy);
}

/// Moves the thread with kernel id `tid` (0: the calling thread) to `policy`; a thread that
/// has ended meanwhile is left alone.
pub fn set_thread(tid: u64, policy: Policy) {
    #[cfg(target_os = "linux")]
    if let Ok(tid) = libc::pid_t::try_from(tid) {
        let policy = match policy {
            Policy::Batch => libc::SCHED_BATCH,
            Policy::Idle => libc::SCHED_IDLE,
        };
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param for the call's duration; a stale id fails
        // harmlessly.
        unsafe {
            libc::sched_setscheduler(tid, policy, &param);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (tid, policy);
}

/// Sets the calling thread's nice value (its weight within its class; Linux keeps one per
/// thread). Best effort.
pub fn set_this_thread_nice(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory-safety preconditions; `who` 0 is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// The calling thread's kernel id (0 where there is none).
pub fn this_thread_id() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions.
        u64::try_from(unsafe { libc::gettid() }).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// The calling thread's policy, if it is one of [`Policy`]'s (`None`: the normal class, or
/// another).
pub fn this_thread() -> Option<Policy> {
    of_thread(0)
}

/// The policy of each of this process's threads whose name starts with `prefix` (Linux keeps
/// a name's first 15 bytes), as [`this_thread`] gives it: what an operator or a test checks.
pub fn threads_named(prefix: &str) -> Vec<Option<Policy>> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            name.starts_with(prefix).then(|| of_thread(tid))
        })
        .collect()
}

/// The policy of the thread with kernel id `tid` (0: the calling thread), as [`this_thread`]
/// gives it.
pub fn of_thread(tid: u64) -> Option<Policy> {
    #[cfg(target_os = "linux")]
    {
        let tid = libc::pid_t::try_from(tid).ok()?;
        // SAFETY: sched_getscheduler has no memory-safety preconditions.
        match unsafe { libc::sched_getscheduler(tid) } {
            libc::SCHED_BATCH => Some(Policy::Batch),
            libc::SCHED_IDLE => Some(Policy::Idle),
            _ => None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = tid;
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_its_own_nice_value_only() {
        // SAFETY: getpriority has no memory-safety preconditions.
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let before = nice();
        let lowered = std::thread::spawn(move || {
            set_this_thread_nice(10);
            (this_thread_id(), nice())
        })
        .join()
        .unwrap();
        assert_ne!(lowered.0, this_thread_id());
        assert_eq!(lowered.1, 10);
        assert_eq!(nice(), before);
    }

    #[test]
    fn a_thread_moves_to_the_policy_it_asks_for_and_others_do_not() {
        let moved = std::thread::Builder::new()
            .name("sched-moved".into())
            .spawn(|| {
                set_this_thread(Policy::Batch);
                let batch = (this_thread(), threads_named("sched-moved"));
                set_this_thread(Policy::Idle);
                (batch, this_thread())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            moved,
            (
                (Some(Policy::Batch), vec![Some(Policy::Batch)]),
                Some(Policy::Idle)
            )
        );
        assert_eq!(this_thread(), None);
    }
}
