//! User-facing language selection.
//!
//! Everything a person reads (CLI output, error messages) is Chinese (zh-CN)
//! first with English available. Domain errors are structured; they render
//! through [`Localize`] so the caller picks the language. Value-parsing errors
//! also surface inside serde's error strings (where only `Display` survives),
//! so `Display` of those follows the process-wide default set once at start-up
//! with [`set_default_lang`].

use std::sync::atomic::{AtomicU8, Ordering};

/// A language users can read bangfu in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parses `zh`, `zh-CN`, `en`, `en-US`… (case-insensitive).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

static DEFAULT_LANG: AtomicU8 = AtomicU8::new(0);

/// Sets the process-wide default language (used by `Display` of value errors).
pub fn set_default_lang(lang: Lang) {
    DEFAULT_LANG.store(
        match lang {
            Lang::Zh => 0,
            Lang::En => 1,
        },
        Ordering::Relaxed,
    );
}

thread_local! {
    /// A language set for the duration of one synchronous call on this thread
    /// ([`with_lang`]); overrides the process-wide default.
    static SCOPED_LANG: std::cell::Cell<Option<Lang>> = const { std::cell::Cell::new(None) };
}

/// The language for text that only `Display` can carry: the one set by an
/// enclosing [`with_lang`] on this thread, else the process-wide default.
pub fn default_lang() -> Lang {
    if let Some(lang) = SCOPED_LANG.with(std::cell::Cell::get) {
        return lang;
    }
    match DEFAULT_LANG.load(Ordering::Relaxed) {
        1 => Lang::En,
        _ => Lang::Zh,
    }
}

/// Runs `f` with [`default_lang`] answering `lang` on this thread. A server
/// parses each request's body inside this, so value errors that surface inside
/// serde's messages read in that request's language. `f` must not yield to
/// other tasks (keep it synchronous): the setting is per thread.
pub fn with_lang<R>(lang: Lang, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Lang>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPED_LANG.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(SCOPED_LANG.with(|c| c.replace(Some(lang))));
    f()
}

/// Something that can be told to a person in their language.
pub trait Localize {
    /// The message in `lang`.
    fn localize(&self, lang: Lang) -> String;
}

/// A business-rule or validation error with a stable machine-readable code.
///
/// Codes are `snake_case`, namespaced by aggregate (`hardship_file.not_verified`),
/// and never change once released: API clients and tests match on them.
pub trait ErrorCode: Localize {
    /// The stable code.
    fn code(&self) -> &'static str;
}
