#!/usr/bin/env python3
"""Cost per request and per user (issue 19, item 5): `python3 bench/cost.py`.

Standard library only. Every input is at the top of this file: prices with their sources and
dates, the AWS calls of each route (BENCHMARKS.md, "AWS round trips per route"), what each
event triggers downstream (docs/events.md, infra/template.yaml), the measured durations
(BENCHMARKS.md, "Invocations at Lambda's CPU share") and the item sizes (estimated from
example items written as DynamoDB stores them). It prints the markdown tables of BENCHMARKS.md's
"Cost per request and per user". `python3 bench/cost.py --check` also asserts a few
invariants of the model (the tables add up, the waste figures follow from the item sizes).
"""

import json
import math
import sys

# --------------------------------------------------------------------------------------------
# Prices, us-east-1. (price, unit, source, date of the source)
# --------------------------------------------------------------------------------------------
PRICES = {
    "lambda_request": (0.20e-6, "per request",
                       "aws.amazon.com/lambda/pricing (archived copy web.archive.org/web/20260618003751)",
                       "2026-06-18"),
    "lambda_gb_s_arm": (0.0000133334, "per GB-s, arm64, first tier",
                        "aws.amazon.com/lambda/pricing; arm64 figure as quoted by git.mcrn.ar lambda-13-cost.md",
                        "2026-06-18 (page); figure not on the stored excerpt"),
    "apigw_rest": (3.50e-6, "per request, REST API, first 333 M/month",
                   "docs.aws.amazon.com whitepaper 'Private APIs', cost optimization, Table 4; aws.amazon.com/api-gateway/pricing",
                   "undated (whitepaper); page undated"),
    "apigw_http": (1.00e-6, "per request, HTTP API, first 300 M/month (for comparison)",
                   "same sources", "undated"),
    "ddb_wru": (0.625e-6, "per write request unit, on-demand",
                "price cut of 2024-11-01 (50%): airbyte.com dynamodb-pricing; jusdb.com; no stored aws.amazon.com page",
                "2025-07-21 / 2025-08-19"),
    "ddb_rru": (0.125e-6, "per read request unit, on-demand", "same", "2025-07-21 / 2025-08-19"),
    "eventbridge_event": (1.00e-6, "per custom event published (64 KB chunk); same-account rule delivery free",
                          "cloudburn.io amazon-eventbridge-pricing; factualminds.com (us-east-1, June 2026)",
                          "2026-03-13 / 2026-06"),
    "sqs_request": (0.40e-6, "per request, standard queue (64 KB chunk), after 1 M free",
                    "factualminds.com amazon-sqs-pricing (us-east-1); cloudburn.io amazon-sqs-pricing",
                    "2026-06-13 / 2026-03-14"),
    "secret_month": (0.40, "per secret per month", "hivebook.wiki aws-secrets-manager (no stored aws.amazon.com page)", "undated"),
    "secret_call": (0.05 / 10_000, "per GetSecretValue", "same", "undated"),
    "cognito_mau": (0.015, "per MAU, Essentials plan (default for new pools), above 10,000 free",
                    "c3x.dev aws_cognito_user_pool (plan and free 10,000); the $0.015 rate is NOT on a stored page: from memory of aws.amazon.com/cognito/pricing (Nov 2024)",
                    "unverified"),
    "ses_email": (0.10 / 1000, "per email sent (SES, activation mails; not asked, shown for scale)",
                  "not found in the stored pages: aws.amazon.com/ses/pricing from memory", "unverified"),
}
P = {k: v[0] for k, v in PRICES.items()}

# --------------------------------------------------------------------------------------------
# Durations (BENCHMARKS.md, "Invocations at Lambda's CPU share", 2026-11-29) and the AWS wait.
# --------------------------------------------------------------------------------------------
ROSTER_MB = 128                  # infra/template.yaml Globals MemorySize, arm64
NODE_MB = 256                    # peak 105-110 MiB does not fit 128 MB
ROSTER_WARM_MS = 1.7             # upper end of "Rust functions, warm" at 128 MB
ROSTER_FIRST_MS = 71.0           # Auth API first verify at 128 MB (worst of passes A/B)
NODE_WARM_MS = 32.0              # Node.js warm p99 at 256 MB (no median in the table: an upper bound)
NODE_FIRST_MS = 142.0            # Node.js first invocation at 256 MB
ROSTER_INIT_MS = 13.9            # lambda-perf, arm64 128 MB (init is billed since 2025-08-01)
NODE_INIT_MS = 124.0             # lambda-perf, Node.js 22, arm64 128 MB
FIRST_FRACTION = 0.01            # share of invocations that start an instance (assumed)
AWS_CALL_MS = 10.0               # wait per AWS call, in region (issue 19 uses 10 to 20 ms)
SUBSCRIBER_MS = 1.7              # a consumer's own CPU per invocation (Rust warm, upper end)

# --------------------------------------------------------------------------------------------
# Item sizes, in DynamoDB's measure (attribute names + values, UTF-8).
# --------------------------------------------------------------------------------------------
USER_ID = "7c1e4a2e-5b7d-4f0a-9a53-2f1d8e6b3c90"
TS = "2026-11-25T10:00:00.000Z"
PROFILE = {  # user-api/src/store.rs ProfileItem, an UNCONFIRMED user with default settings
    "id": USER_ID, "email": "ada.lovelace@example.com", "emailKey": "ada.lovelace@example.com",
    "name": "Ada Lovelace", "nameKey": "ada lovelace", "handle": "ada", "handleKey": "ada",
    "role": "USER", "status": "UNCONFIRMED", "sourceSystem": "web-shop", "createdAt": TS,
    "lastLoginAt": TS, "activationCodeHash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "activationExpiresAt": 1764064800,
    "profileData": {"lang": "en", "currency": "EUR",
                    "avatarUrl": "https://assets.example.com/public/avatars/default.png"},
    "badges": {"NEW_MEMBER": {"awardedAt": TS}}, "data": "{}", "version": 3, "updatedAt": TS,
    "correlationId": "0b5e3c52-3d1f-4a55-9f0e-6c1d2b7a9e41",
    "registeredEventId": "UserRegistered-" + USER_ID, "lastWriteId": USER_ID,
    "sessionsRevokedBefore": 1764064800, "listShard": "17", "statusShard": "UNCONFIRMED#17",
    "createdKey": TS + "#" + USER_ID,
}
IDENTITY = {  # auth-api/src/store.rs Identity
    "pk": "USER#" + USER_ID, "sk": "IDENTITY", "id": USER_ID, "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace", "handle": "ada", "role": "USER", "status": "UNCONFIRMED", "createdAt": TS,
    "sourceSystem": "web-shop", "activationCodeHash": PROFILE["activationCodeHash"],
    "registrationId": USER_ID, "correlationId": PROFILE["correlationId"], "username": USER_ID,
}
DATA_BYTES = 0                   # the user's free-form `data` beyond "{}" (up to 16 KiB allowed)


def ddb_size(value):
    """DynamoDB's item size: names and strings in UTF-8, numbers about 1 byte per 2 digits + 1,
    maps 3 bytes + 1 per element."""
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + ddb_size(v) + 1 for k, v in value.items())
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool):
        return 1
    if isinstance(value, (int, float)):
        return math.ceil(len(str(value)) / 2) + 1
    raise TypeError(value)


PROFILE_BYTES = ddb_size(PROFILE) + DATA_BYTES
IDENTITY_BYTES = ddb_size(IDENTITY)
LIST_BYTES = ddb_size({k: PROFILE[k] for k in ("id", "name", "handle", "email", "status", "createdAt",
                                                 "listShard", "statusShard", "createdKey",
                                                 "nameKey", "emailKey", "handleKey")})
KEYS_BYTES = ddb_size({k: PROFILE[k] for k in ("id", "nameKey")})


def wru(nbytes):
    return max(1, math.ceil(nbytes / 1024))


def rru_eventual(nbytes):
    return 0.5 * max(1, math.ceil(nbytes / 4096))


W_PROFILE = wru(PROFILE_BYTES)          # base table, or one ALL-projection index copy
W_LIST = wru(LIST_BYTES)                # one INCLUDE listing index entry
W_KEYS = wru(KEYS_BYTES)                # one KEYS_ONLY index entry
R_PROFILE = rru_eventual(PROFILE_BYTES)
R_PROFILE_STRONG = 2 * R_PROFILE        # GetItem of a profile: the User API reads consistently
ALL_GSIS = 3                            # the lookup indexes (name, email, handle): every user's there
# infra/template.yaml: lookup-by-name, lookup-by-email, lookup-by-handle hold keys only (they
# replaced by-name, by-email, by-handle, which projected ALL: the "before" of the Waste table).
LOOKUP_PROJECTION = "KEYS_ONLY"


def profile_write(*, keys_change=False, status_change=False, activation=False, projection=LOOKUP_PROJECTION):
    """WRUs of one profile UpdateItem. ALL: each of the three lookup indexes rewrites the whole
    item on any change; KEYS_ONLY: only when its key changes. The listing indexes (INCLUDE) are
    written only when a projected attribute changes; a status change moves list-by-status's key
    (a delete and a put). `activation`: the sparse by-activation-code (ALL) loses the item."""
    units = W_PROFILE
    if projection == "ALL":
        units += ALL_GSIS * W_PROFILE
    elif keys_change:
        units += ALL_GSIS * 2 * W_KEYS
    if status_change:
        units += 2 * W_LIST + 4 * W_LIST
    if activation:
        units += W_PROFILE  # delete from by-activation-code
    return units


# --------------------------------------------------------------------------------------------
# Downstream of an event: who receives it (rules in infra/template.yaml) and what they do.
# Each delivery to a queue is: EventBridge's SendMessage, Lambda's ReceiveMessage and
# DeleteMessage (3 SQS requests at a batch of one, the low-traffic case), one invocation.
# `handles` False: the rule delivers it and the subscriber drops it.
# --------------------------------------------------------------------------------------------
def deliveries(event, projection=LOOKUP_PROJECTION):
    """[(subscriber, handles, wru, rru, aws_calls, further_events)] for one published event."""
    pw = lambda **kw: profile_write(projection=projection, **kw)  # noqa: E731
    auth_sub_handles = {"UserActivated", "UserStatusChanged", "UserDeleted"}
    user_sub_handles = {"UserRegistered", "UserLoggedIn", "ActivationCodeReissued", "IdentityDeleted",
                        "UserDeletionRequested", "SessionsRevoked"}
    out = []
    if event in {"UserRegistered", "UserLoggedIn", "PasswordResetRequested", "PasswordChanged",
                 "SessionsRevoked", "MfaEnabled", "MfaDisabled", "ActivationCodeReissued",
                 "IdentityDeleted", "UserDeletionRequested"}:  # source roster.auth
        handles = event in user_sub_handles
        if event == "UserRegistered":  # PutItem: base, 3 ALL, by-activation-code, 5 listing
            w = W_PROFILE * (1 + (ALL_GSIS if projection == "ALL" else 0) + 1) \
                + (ALL_GSIS * W_KEYS if projection != "ALL" else 0) + 5 * W_LIST
            out.append(("user-subscriber", True, w, 0, 1, ["UserProfileCreated"]))
        elif event in ("UserLoggedIn", "SessionsRevoked"):
            out.append(("user-subscriber", True, pw(), 0, 1, []))
        else:
            out.append(("user-subscriber", handles, 0, 0, 0, []))
        if event in ("UserRegistered", "ActivationCodeReissued"):  # re-read, SES, mark mailed
            out.append(("activation-mailer", True, wru(IDENTITY_BYTES), 1, 3, []))
    else:  # source roster.user
        if event == "UserActivated":  # identity records it; email_verified in Cognito
            out.append(("auth-subscriber", True, wru(IDENTITY_BYTES), 0, 2, []))
            out.append(("badge-rules", True, pw(), 0, 1, ["BadgeAwarded"]))
        elif event == "UserStatusChanged":  # a suspension: disable, sign out, revocation record
            out.append(("auth-subscriber", True, 2 * wru(IDENTITY_BYTES), 0, 4, ["SessionsRevoked"]))
        elif event == "UserDeleted":  # identity, reservations, requests: about 7 deletes
            out.append(("auth-subscriber", True, 7, 1, 4, []))
        elif event == "UserProfileUpdated":
            out.append(("auth-subscriber", False, 0, 0, 0, []))
            out.append(("badge-rules", True, 0, 0, 0, []))
        else:  # UserProfileCreated, BadgeAwarded, BadgeRevoked, UserDataUpdated
            out.append(("auth-subscriber", False, 0, 0, 0, []))
    return out


# --------------------------------------------------------------------------------------------
# Routes: (route, AWS calls in the request, WRU, RRU, events published inline, table writes
# whose stream record reaches a projector, events the projectors publish from them).
# Calls from BENCHMARKS.md "AWS round trips per route"; Cognito calls are free (MAU pricing).
# --------------------------------------------------------------------------------------------
def lookup(projection):
    """(calls, RRU) of a lookup by name, email or handle. ALL: one Query answers the index's
    copy (eventually consistent). KEYS_ONLY: a Query of the keys, then a strongly consistent
    GetItem of the profile."""
    return (1, R_PROFILE) if projection == "ALL" else (2, 0.5 + R_PROFILE_STRONG)


def routes(projection=LOOKUP_PROJECTION):
    pw = lambda **kw: profile_write(projection=projection, **kw)  # noqa: E731
    lookup_calls, lookup_rru = lookup(projection)
    idw = wru(IDENTITY_BYTES)
    return [
        ("POST /auth/token/verify", 0, 0, 0, [], 0, []),
        ("POST /auth/register", 5, 2 * 4 + 1 + 2 * (idw + 4) + 1, 0, [], 2, ["UserRegistered"]),
        ("POST /auth/login", 2, 0, 0, ["UserLoggedIn"], 0, []),
        ("POST /auth/token/refresh", 1, 0, 0, [], 0, []),
        ("POST /auth/password/forgot", 3, 1, 0.5, [], 1, ["PasswordResetRequested"]),
        ("POST /auth/password/confirm", 6, 1, 0.5, ["PasswordChanged"], 1, ["SessionsRevoked"]),
        ("POST /auth/password/change", 6, 1, 0.5, ["PasswordChanged"], 1, ["SessionsRevoked"]),
        ("POST /auth/logout", 3, 1, 0.5, [], 1, ["SessionsRevoked"]),
        ("GET /user/{id}", 1, 0, R_PROFILE_STRONG, [], 0, []),
        ("GET /user/handle/{handle} (and name, email)", lookup_calls, 0, lookup_rru, [], 0, []),
        # by-activation-code projects ALL (sparse: only until activation): one Query finds
        # the profile, whatever the lookup indexes project.
        ("GET /user/activate/{code}", 2,
         pw(status_change=True, activation=True), R_PROFILE, [], 1,
         ["UserActivated", "UserStatusChanged"]),
        ("PATCH /user/{id}/status/{status} (suspend)", 1, pw(status_change=True), 0, [], 1,
         ["UserStatusChanged"]),
        ("POST /user/{id}/badge/{name}", 1, pw(), 0, [], 1, ["BadgeAwarded"]),
        ("PATCH /user/{id}/data/update", 2, pw(), 1, [], 1, ["UserDataUpdated"]),
        ("GET /public/user/me", 1, 0, R_PROFILE_STRONG, [], 0, []),
        ("PATCH /public/user/me/profile", 2, pw(), 1, [], 1, ["UserProfileUpdated"]),
        ("DELETE /user/{id}", 4, W_PROFILE * (1 + (ALL_GSIS if projection == "ALL" else 0)) + 5 * W_LIST
         + (ALL_GSIS * W_KEYS if projection != "ALL" else 0) + 1, 1, [], 1, ["UserDeleted"]),
    ]


def lambda_cost(ms, mb):
    return P["lambda_request"] + ms / 1000 * mb / 1024 * P["lambda_gb_s_arm"]


def api_invocation_ms(calls, warm, first, init):
    return (1 - FIRST_FRACTION) * (warm + calls * AWS_CALL_MS) + FIRST_FRACTION * (first + init + calls * AWS_CALL_MS)


# The subscribers whose bus rule takes only the detail types they handle (the template, since
# 2026-11-29: AuthSubscriberRule and UserSubscriberRule filter by detail-type).
RULE_FILTER = ("auth-subscriber", "user-subscriber")


def cost_route(route, *, node=False, projection=LOOKUP_PROJECTION, rule_filter=RULE_FILTER, apigw="apigw_rest"):
    """Dollars per request, split into Lambda / API Gateway / DynamoDB / EventBridge / SQS /
    downstream functions. The seed (node=True) makes the same calls and writes (assumed) but has
    no events: it writes the profile in the request (no projector, bus, queue or subscriber)."""
    name, calls, w, r, inline, stream_writes, projected = route
    mb = NODE_MB if node else ROSTER_MB
    warm, first, init = (NODE_WARM_MS, NODE_FIRST_MS, NODE_INIT_MS) if node else (ROSTER_WARM_MS, ROSTER_FIRST_MS, ROSTER_INIT_MS)
    c = {"lambda": lambda_cost(api_invocation_ms(calls, warm, first, init), mb),
         "apigw": P[apigw], "ddb": w * P["ddb_wru"] + r * P["ddb_rru"],
         "eventbridge": 0.0, "sqs": 0.0, "downstream": 0.0}
    if node:  # the handled downstream work, done in the request: no bus, queue or projector
        queue, extra_calls = list(inline) + list(projected), 0
        while queue:
            for _sub, handles, dw, dr, dcalls, further in deliveries(queue.pop(0), projection):
                if handles:
                    c["ddb"] += dw * P["ddb_wru"] + dr * P["ddb_rru"]
                    extra_calls += dcalls
                    queue.extend(further)
        c["lambda"] = lambda_cost(api_invocation_ms(calls + extra_calls, warm, first, init), mb)
        return c
    c["downstream"] += stream_writes * lambda_cost(SUBSCRIBER_MS + AWS_CALL_MS, ROSTER_MB)  # projector
    queue = list(inline) + list(projected)
    while queue:
        event = queue.pop(0)
        c["eventbridge"] += P["eventbridge_event"]
        for _sub, handles, dw, dr, dcalls, further in deliveries(event, projection):
            if not handles and _sub in rule_filter:
                continue
            c["sqs"] += 3 * P["sqs_request"]
            c["downstream"] += lambda_cost(SUBSCRIBER_MS + dcalls * AWS_CALL_MS, ROSTER_MB)
            c["ddb"] += dw * P["ddb_wru"] + dr * P["ddb_rru"]
            if dw:  # the write's stream record wakes the users or auth projector
                c["downstream"] += lambda_cost(SUBSCRIBER_MS + AWS_CALL_MS * bool(further), ROSTER_MB)
            queue.extend(further)
    return c


COLS = ("lambda", "apigw", "ddb", "eventbridge", "sqs", "downstream")


def fmt(x):
    return f"{x * 1e6:.2f}"


def route_table(projection=LOOKUP_PROJECTION):
    lines = ["| Route | Roster: Lambda | API GW | DynamoDB | EventBridge | SQS | Downstream λ | **Roster** | Node.js seed: Lambda | API GW | DynamoDB | **Node.js** |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for route in routes(projection):
        r = cost_route(route, projection=projection)
        n = cost_route(route, node=True, projection=projection)
        lines.append(f"| `{route[0]}` | " + " | ".join(fmt(r[k]) for k in COLS)
                     + f" | **{fmt(sum(r.values()))}** | {fmt(n['lambda'])} | {fmt(n['apigw'])} | {fmt(n['ddb'])}"
                     + f" | **{fmt(sum(n.values()))}** |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Usage model, per registered user per month (all registered users are monthly active).
# --------------------------------------------------------------------------------------------
USAGE = {  # route name -> requests per user per month
    "POST /auth/login": 8,                       # 8 sign-ins
    "POST /auth/token/verify": 8 * 50,           # 50 token checks by back ends per sign-in
    "POST /auth/token/refresh": 8 * 2,           # 2 refreshes per sign-in (1 h tokens)
    "GET /public/user/me": 8 * 5,                # 5 profile reads per sign-in
    "PATCH /public/user/me/profile": 1,          # 1 profile write a month
    "POST /auth/logout": 8 * 0.5,                # half the sessions end with a sign-out
    "POST /auth/register": 0.05,                 # 5% of the user base registers each month
    "GET /user/activate/{code}": 0.05,
}


def per_thousand(node=False, projection=LOOKUP_PROJECTION, rule_filter=RULE_FILTER, apigw="apigw_rest"):
    by_route = {r[0]: r for r in routes(projection)}
    total = {k: 0.0 for k in COLS}
    for name, n in USAGE.items():
        c = cost_route(by_route[name], node=node, projection=projection, rule_filter=rule_filter, apigw=apigw)
        for k in COLS:
            total[k] += 1000 * n * c[k]
    total["cognito"] = 1000 * P["cognito_mau"]
    return total


# Fixed monthly costs of one deployed stage, whatever the users.
INSTANCES = 2  # warm Auth API / User API instances kept busy (assumed)
FIXED = {
    "Secrets Manager: 3 secrets (API keys, server key, user key)": 3 * P["secret_month"],
    "Secrets Manager: API-key record reads, 60 s TTL, 2 APIs × 2 warm instances (the server and user keys: once per instance, not counted)": 2 * INSTANCES * 43_200 * P["secret_call"],
    "Auth API revocation set: 4 Queries a second while requests arrive, 2 warm instances (0.5 RRU each)":
        INSTANCES * 4 * 86_400 * 30 * 0.5 * P["ddb_rru"],
    "SQS: 4 idle queues long-polled by Lambda (about 5 pollers, 3 empty receives a minute each)":
        4 * 5 * 3 * 43_200 * P["sqs_request"],
}


def per_million(route_name, **kw):
    route = next(r for r in routes(kw.get("projection", LOOKUP_PROJECTION)) if r[0] == route_name)
    return sum(cost_route(route, **kw).values()) * 1e6


def break_even_lookups():
    """Lookups per profile write at which KEYS_ONLY stops paying: each write saves 3 index
    copies; each lookup pays the GetItem's RRU and one more wait in the function."""
    saved = (profile_write(projection="ALL") - profile_write(projection="KEYS_ONLY")) * P["ddb_wru"]
    extra_rru = lookup("KEYS_ONLY")[1] - lookup("ALL")[1]
    extra = extra_rru * P["ddb_rru"] + AWS_CALL_MS / 1000 * ROSTER_MB / 1024 * P["lambda_gb_s_arm"]
    return saved / extra


def main():
    check = "--check" in sys.argv
    print("### Prices (us-east-1)\n")
    print("| Item | Price | Source | Date |\n|---|---|---|---|")
    for key, (price, unit, source, date) in PRICES.items():
        shown = f"${price * 1e6:g} per million" if unit.startswith("per request") or key in ("ddb_wru", "ddb_rru", "eventbridge_event", "secret_call", "ses_email") else f"${price:.10g}"
        print(f"| {key} | {shown} ({unit}) | {source} | {date} |")
    print(f"\n### Item sizes\n\nProfile item {PROFILE_BYTES} bytes ({W_PROFILE} WRU, {R_PROFILE} RRU eventually consistent, {R_PROFILE_STRONG} strongly),"
          f" with `data` = `{{}}` + {DATA_BYTES} bytes; identity {IDENTITY_BYTES} bytes; a listing-index entry"
          f" {LIST_BYTES} bytes; a KEYS_ONLY lookup entry {KEYS_BYTES} bytes.\n")
    print("### Dollars per million requests\n")
    print(route_table())
    print("\n### Dollars per 1,000 registered users per month\n")
    r, n = per_thousand(), per_thousand(node=True)
    print("| | Lambda | API GW | DynamoDB | EventBridge | SQS | Downstream λ | Cognito MAU | **Total** | **Without Cognito** |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, t in (("Roster", r), ("Node.js seed", n)):
        print(f"| {label} | " + " | ".join(f"{t[k]:.4f}" for k in COLS + ("cognito",))
              + f" | **{sum(t.values()):.4f}** | **{sum(t.values()) - t['cognito']:.4f}** |")
    print("\n### Fixed monthly costs of a stage\n\n| Item | $ per month |\n|---|---:|")
    for label, dollars in FIXED.items():
        print(f"| {label} | {dollars:.2f} |")
    base_t = per_thousand()
    base = sum(base_t.values()) - base_t["cognito"]
    print("\n### The biggest line items, per 1,000 users a month (Roster)\n")
    print("| Line | $ | Share of all | Share without Cognito |\n|---|---:|---:|---:|")
    for key, dollars in sorted(base_t.items(), key=lambda kv: -kv[1]):
        share = "" if key == "cognito" else f"{dollars / base:.0%}"
        print(f"| {key} | {dollars:.4f} | {dollars / sum(base_t.values()):.0%} | {share} |")
    print("\n### Waste\n")
    pa, pk = profile_write(projection="ALL"), profile_write(projection="KEYS_ONLY")
    a = per_thousand(projection="ALL")
    unfiltered = per_thousand(rule_filter=())
    h = per_thousand(apigw="apigw_http")
    rows = [
        ("HTTP API instead of REST API (not proposed: WAF and the authorizer's scopes)", h),
    ]
    unf = sum(unfiltered.values()) - unfiltered["cognito"]
    all_ = sum(a.values()) - a["cognito"]
    print(f"Done: the subscribers' rules take only the detail types each handles; unfiltered, as before,"
          f" the bill without Cognito was ${unf:.4f} per 1,000 users a month (${unf - base:.4f} more).\n")
    print(f"Done: the lookup indexes hold keys only, a lookup reads the profile with a GetItem; with"
          f" indexes projecting ALL, as before, the bill without Cognito was ${all_:.4f} per 1,000 users"
          f" a month (${all_ - base:.4f} more; DynamoDB ${a['ddb']:.4f} against ${base_t['ddb']:.4f}).\n")
    print(f"Today: ${base:.4f} per 1,000 users a month without Cognito.\n")
    print("| Change | $ per 1,000 users a month (without Cognito) | Saved |\n|---|---:|---:|")
    for label, t in rows:
        v = sum(t.values()) - t["cognito"]
        print(f"| {label} | {v:.4f} | {base - v:.4f} ({(base - v) / base:.1%}) |")
    print(f"\nProfile write (lastLoginAt, data, badge, settings): {pa} WRU with ALL, {pk} with KEYS_ONLY"
          f" (${pa * P['ddb_wru'] * 1e6:.3f} against ${pk * P['ddb_wru'] * 1e6:.3f} per million writes);"
          f" a status change {profile_write(status_change=True, projection='ALL')} against {profile_write(status_change=True, projection='KEYS_ONLY')}.")
    big = 8 * 1024
    print(f"With {big} bytes of `data` a write is {wru(PROFILE_BYTES + big)} WRU, so"
          f" {4 * wru(PROFILE_BYTES + big)} with ALL against {wru(PROFILE_BYTES + big)}.")
    extra_rru = lookup("KEYS_ONLY")[1] - lookup("ALL")[1]
    print(f"A lookup with KEYS_ONLY: Query then a consistent GetItem, +{extra_rru:g} RRU and +{AWS_CALL_MS:g} ms:"
          f" ${per_million('GET /user/handle/{handle} (and name, email)', projection='ALL'):.2f} with ALL →"
          f" ${per_million('GET /user/handle/{handle} (and name, email)'):.2f} per million."
          f" KEYS_ONLY pays while there are fewer than {break_even_lookups():.0f} lookups per profile write.")
    wasted = {"POST /user/{id}/badge/{name}", "PATCH /user/{id}/data/update", "PATCH /public/user/me/profile",
              "POST /auth/register"}
    print("Unhandled deliveries to auth-subscriber, $ per million requests the filtered rule saves: "
          + "; ".join(f"`{n}` {per_million(n, rule_filter=('user-subscriber',)) - per_million(n):.2f}"
                      for n in sorted(wasted)) + ".")
    if check:
        assert W_PROFILE == 1 and PROFILE_BYTES < 1024, PROFILE_BYTES
        assert pa == 4 * W_PROFILE and pk == W_PROFILE
        for route in routes():
            c = cost_route(route)
            assert all(v >= 0 for v in c.values())
        for label, t in rows:
            assert sum(t.values()) - t["cognito"] < base, label
        # The per-user model makes no lookups: the saving is 3 WRU per profile write, of which a
        # month has one per sign-in (lastLoginAt), per sign-out (SessionsRevoked), per settings
        # change, and a few per registration (activation, VERIFIED).
        writes = USAGE["POST /auth/login"] + USAGE["POST /auth/logout"] + USAGE["PATCH /public/user/me/profile"]
        saved = a["ddb"] - base_t["ddb"]
        assert 1000 * writes * 3 * P["ddb_wru"] <= saved <= 1000 * (writes + 0.05 * 4) * 3 * P["ddb_wru"], saved
        assert per_million("POST /auth/token/verify") < per_million("GET /user/{id}")
        print("\nchecks passed", file=sys.stderr)


if __name__ == "__main__":
    main()
