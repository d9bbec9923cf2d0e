//! What the APIs promise their callers: routers over HTTP, the client against the OpenAPI documents, the browser, AWS round trips per route.

mod apis;
mod browser;
mod client_contract;
mod round_trips;
