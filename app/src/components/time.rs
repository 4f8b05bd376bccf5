//! Timestamps: rendered in UTC by the server, then in the user's own time zone (named)
//! once the page is live, with the raw ISO form in a tooltip.

use crate::format::{iso_utc, utc_minutes};
use crate::types::UnixMillis;
use leptos::prelude::*;

/// A point in time, or an em dash when absent.
#[component]
pub fn Time(
    /// Milliseconds since the epoch.
    #[prop(into)]
    ms: Option<UnixMillis>,
) -> impl IntoView {
    let Some(ms) = ms else {
        return view! { <span class="muted">"\u{2014}"</span> }.into_any();
    };
    let text = RwSignal::new(utc_minutes(ms));
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
            let opts = js_sys::Object::new();
            for (k, v) in [("dateStyle", "medium"), ("timeStyle", "short")] {
                let _ = js_sys::Reflect::set(&opts, &k.into(), &v.into());
            }
            let local: String = date.to_locale_string("default", &opts).into();
            let zone_opts = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&zone_opts, &"timeZoneName".into(), &"short".into());
            let with_zone: String = date.to_locale_time_string_with_options("default", &zone_opts).into();
            let zone = with_zone.rsplit(' ').next().unwrap_or("").to_string();
            text.set(format!("{local} {zone}"));
        }
    });
    view! { <time datetime=iso_utc(ms) title=iso_utc(ms)>{move || text.get()}</time> }.into_any()
}
