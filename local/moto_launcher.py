"""Runs moto's server for Roster's local stack.

Binds the requested loopback port (0 picks a free one), prints {"port": N} as its first line on
stdout, and serves until its standard input closes. The parent holds the other end of that
pipe, so when the parent exits for any reason (Ctrl-C, SIGTERM, a crash, a finished test
process) the pipe closes and this server exits too: no orphaned moto.
"""

import json
import logging
import os
import sys
import threading

from moto.cognitoidp import models as cognitoidp
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def sign_out_under_every_name() -> None:
    """Makes a global sign-out end every session of the user, as Cognito does.

    moto files each session under the exact name it was opened with (an email alias, or the
    username) and a global sign-out revokes only the sessions filed under the name it is
    given. Cognito revokes all of the user's sessions whichever name identifies the user.
    """
    sign_out = cognitoidp.CognitoIdpUserPool.sign_out

    def every_name(pool, username):
        names = {username}
        user = pool._get_user(username)
        if user is not None:
            names.add(user.username)
            names.update(
                attribute["Value"]
                for attribute in user.attributes
                if attribute["Name"] in ("email", "phone_number")
            )
        for name in names:
            sign_out(pool, name)

    cognitoidp.CognitoIdpUserPool.sign_out = every_name


def file_sessions_under_the_username() -> None:
    """Keeps a user's sessions across a change of its email, as Cognito does.

    moto files a session (its refresh and access tokens) under the name the user signed in
    with, here the email, and looks the user up by that name on every refresh: once the email
    changes (an operator's AdminUpdateUserAttributes), the session's refresh fails and a
    global sign-out by username misses it. Cognito's sessions belong to the user. So sessions
    are filed under the user's immutable username (its `sub` in this pool).
    """
    pool_class = cognitoidp.CognitoIdpUserPool

    def username_of(pool, name):
        user = pool._get_user(name)
        return user.username if user is not None else name

    for method in ("create_refresh_token", "create_access_token", "create_id_token"):
        original = getattr(pool_class, method)

        def filed(pool, client_id, username, *args, _original=original, **kwargs):
            return _original(pool, client_id, username_of(pool, username), *args, **kwargs)

        setattr(pool_class, method, filed)


def hold_email_changes_until_verified() -> None:
    """Keeps the email of a user until a new one is verified, as Cognito does in a pool with
    `UserAttributeUpdateSettings: AttributesRequireVerificationBeforeUpdate: [email]`.

    Cognito leaves the attribute as it was and sends a code to the new address; an update that
    also sets `email_verified` to true (an administrator's) applies at once. moto applies every
    change at once. The local stack sends no code, so the held address is simply dropped.
    """
    def unheld(pool, attributes):
        settings = pool.extended_config.get("UserAttributeUpdateSettings") or {}
        held = settings.get("AttributesRequireVerificationBeforeUpdate") or []
        values = {attribute["Name"]: attribute["Value"] for attribute in attributes}
        return [
            attribute
            for attribute in attributes
            if attribute["Name"] not in held
            or values.get(attribute["Name"] + "_verified") == "true"
        ]

    backend_class = cognitoidp.CognitoIdpBackend
    admin_update = backend_class.admin_update_user_attributes
    update = backend_class.update_user_attributes

    def admin_held(backend, user_pool_id, username, attributes):
        pool = backend.describe_user_pool(user_pool_id)
        return admin_update(backend, user_pool_id, username, unheld(pool, attributes))

    def held(backend, access_token, attributes):
        for pool in backend.user_pools.values():
            if access_token in pool.access_tokens:
                attributes = unheld(pool, attributes)
        return update(backend, access_token, attributes)

    backend_class.admin_update_user_attributes = admin_held
    backend_class.update_user_attributes = held


def refuse_writes_outside_the_clients_write_attributes() -> None:
    """Lets a user's own access token write (UpdateUserAttributes) only the attributes its app
    client lists in `WriteAttributes`, as Cognito does ("A client attempted to write
    unauthorized attribute", NotAuthorized); moto lets it write anything. An absent or empty
    list is Cognito's default (every standard attribute), left to moto. Administrators'
    updates (AdminUpdateUserAttributes) are not limited by an app client, here as on Cognito.
    """
    from moto.cognitoidp.exceptions import NotAuthorizedError

    update = cognitoidp.CognitoIdpBackend.update_user_attributes

    def checked(backend, access_token, attributes):
        for pool in backend.user_pools.values():
            if access_token in pool.access_tokens:
                client_id, _ = pool.access_tokens[access_token]
                client = pool.clients.get(client_id)
                writable = (client.extended_config.get("WriteAttributes") if client else None) or []
                if writable and any(a["Name"] not in writable for a in attributes):
                    raise NotAuthorizedError("A client attempted to write unauthorized attribute")
        return update(backend, access_token, attributes)

    cognitoidp.CognitoIdpBackend.update_user_attributes = checked


def refuse_unknown_tokens_and_users_as_cognito_does() -> None:
    """Answers an unknown refresh token (or one of a deleted or disabled user) with
    NotAuthorized, and a password-reset confirmation
    for an unknown user with CodeMismatch (what Cognito says with user-existence errors
    hidden), where moto fails with an internal error (a KeyError) or ResourceNotFound."""
    from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError

    create_tokens = cognitoidp.CognitoIdpUserPool.create_tokens_from_refresh_token

    def known_refresh_token(pool, refresh_token):
        if refresh_token not in pool.refresh_tokens:
            raise NotAuthorizedError(refresh_token)
        # A deleted or disabled user's refresh tokens are dead on Cognito; moto keeps them and
        # fails with an internal error (a KeyError) for a deleted one.
        session = pool.refresh_tokens[refresh_token]
        user = pool._get_user(session[1]) if session else None
        if user is None or not user.enabled:
            raise NotAuthorizedError(refresh_token)
        return create_tokens(pool, refresh_token)

    cognitoidp.CognitoIdpUserPool.create_tokens_from_refresh_token = known_refresh_token

    confirm = cognitoidp.CognitoIdpBackend.confirm_forgot_password

    def known_user(backend, client_id, username, password, confirmation_code):
        for pool in backend.user_pools.values():
            if client_id in pool.clients and pool._get_user(username) is None:
                raise CodeMismatchException("Invalid code provided, please request a code again.")
        return confirm(backend, client_id, username, password, confirmation_code)

    cognitoidp.CognitoIdpBackend.confirm_forgot_password = known_user


def totp_codes(secret: str, at: float, window: int = 1) -> set:
    """The RFC 6238 codes (HMAC-SHA1, 6 digits, 30-second steps: Cognito's software tokens) of
    the base32 `secret` for the step of `at` and `window` steps either side."""
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    step = int(at) // 30
    codes = set()
    for counter in range(step - window, step + window + 1):
        digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
        codes.add(f"{number % 1_000_000:06d}")
    return codes


def software_tokens_as_cognito_does() -> None:
    """Gives TOTP multi-factor sign-in Cognito's behaviour.

    moto hands every user the same fixed key ("asdfasdfasdf"), accepts any code unless an
    environment variable is set (and then checks it against that shared key, in one 30-second
    step only), lets VerifySoftwareToken succeed without an AssociateSoftwareToken first,
    keeps a sign-in's challenge session forever, and answers a challenge for whichever user
    the response names, whatever user the session was opened for. Cognito:
    - AssociateSoftwareToken makes a new random key per user (32 base32 characters), pending
      until VerifySoftwareToken proves a code of it; a pool without software-token MFA
      refuses both (SoftwareTokenMFANotFoundException);
    - codes are RFC 6238 (HMAC-SHA1, 6 digits, 30 s), checked against the user's own key with
      a step of clock drift either side; a wrong one is CodeMismatchException and leaves a
      sign-in's challenge standing;
    - a challenge session lasts the app client's AuthSessionValidity (3 minutes by default),
      is spent once answered, belongs to the app client and the user it was opened for:
      anything else is NotAuthorizedException.
    """
    import secrets
    import time

    from moto.cognitoidp.exceptions import (
        CodeMismatchException,
        NotAuthorizedError,
    )
    from moto.core.exceptions import JsonRESTError

    class SoftwareTokenMFANotFoundException(JsonRESTError):
        def __init__(self) -> None:
            super().__init__(
                "SoftwareTokenMFANotFoundException",
                "Software Token MFA is not enabled for the user pool.",
            )

    class EnableSoftwareTokenMFAException(JsonRESTError):
        def __init__(self) -> None:
            super().__init__(
                "EnableSoftwareTokenMFAException",
                "Code mismatch and fail enable Software Token MFA",
            )

    backend_class = cognitoidp.CognitoIdpBackend
    # Challenge sessions: session -> (opened at, client id, username).
    opened: dict = {}

    def user_of_token(backend, access_token):
        for pool in backend.user_pools.values():
            if access_token in pool.access_tokens:
                _, username = pool.access_tokens[access_token]
                return pool, backend.admin_get_user(pool.id, username)
        raise NotAuthorizedError("Invalid Access Token")

    def software_tokens_enabled(pool):
        return (pool.token_mfa_config or {}).get("Enabled") is True

    def associate(backend, access_token, session):
        if session:
            raise NotAuthorizedError("Invalid session for the user.")
        pool, user = user_of_token(backend, access_token)
        if not software_tokens_enabled(pool):
            raise SoftwareTokenMFANotFoundException()
        user.roster_pending_totp = base64_key(secrets.token_bytes(20))
        return {"SecretCode": user.roster_pending_totp}

    def base64_key(raw):
        import base64

        return base64.b32encode(raw).decode("ascii").rstrip("=")

    def verify(backend, access_token, session, user_code, friendly_device_name):
        if session:
            raise NotAuthorizedError("Invalid session for the user.")
        pool, user = user_of_token(backend, access_token)
        if not software_tokens_enabled(pool):
            raise SoftwareTokenMFANotFoundException()
        pending = getattr(user, "roster_pending_totp", None)
        if not pending:
            raise EnableSoftwareTokenMFAException()
        if user_code not in totp_codes(pending, time.time()):
            raise EnableSoftwareTokenMFAException()
        user.roster_totp = pending
        user.roster_pending_totp = None
        user.token_verified = True
        return {"Status": "SUCCESS"}

    admin_initiate = backend_class.admin_initiate_auth

    def initiate(backend, user_pool_id, client_id, auth_flow, auth_parameters):
        result = admin_initiate(backend, user_pool_id, client_id, auth_flow, auth_parameters)
        if result and result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            pool = backend.describe_user_pool(user_pool_id)
            user = pool._get_user(auth_parameters.get("USERNAME"))
            opened[result["Session"]] = (time.time(), client_id, user.username)
            result["ChallengeParameters"] = {"USER_ID_FOR_SRP": user.username}
        return result

    respond = backend_class.respond_to_auth_challenge

    def answered(backend, session, client_id, challenge_name, challenge_responses):
        if challenge_name != "SOFTWARE_TOKEN_MFA":
            return respond(backend, session, client_id, challenge_name, challenge_responses)
        if session not in opened or session not in backend.sessions:
            raise NotAuthorizedError("Invalid session for the user.")
        at, session_client, username = opened[session]
        _, pool = backend.sessions[session]
        client = pool.clients.get(session_client)
        validity = (client.extended_config.get("AuthSessionValidity") if client else None) or 3
        if time.time() - at > validity * 60:
            opened.pop(session, None)
            backend.sessions.pop(session, None)
            raise NotAuthorizedError("Invalid session for the user, session is expired.")
        named = pool._get_user(challenge_responses.get("USERNAME") or "")
        if client_id != session_client or named is None or named.username != username:
            raise NotAuthorizedError("Invalid session for the user.")
        secret = getattr(named, "roster_totp", None)
        code = challenge_responses.get("SOFTWARE_TOKEN_MFA_CODE") or ""
        if not secret or code not in totp_codes(secret, time.time()):
            raise CodeMismatchException("Invalid code received for user")
        opened.pop(session, None)
        return respond(backend, session, client_id, challenge_name, challenge_responses)

    backend_class.associate_software_token = associate
    backend_class.verify_software_token = verify
    backend_class.admin_initiate_auth = initiate
    backend_class.respond_to_auth_challenge = answered


def roll_back_transactions_item_by_item() -> None:
    """Rolls a cancelled TransactWriteItems back item by item, in constant time.

    moto backs every transaction up by deep-copying each table it touches, items and stream
    records included, and on failure puts the copy in the table's place. Two faults follow:
    - every transaction costs time in proportion to everything the table and its stream ever
      held, and DynamoDB's requests are serialised (SerialiseDynamoDB), so the whole local
      stack slows down as it is used (a registration took over a second after a few hundred);
    - the replaced table comes with a copy of its stream shard, so every shard iterator
      handed out before points into a shard nothing writes to any more: a reader following
      its NextShardIterator chain never sees another record (the stall of issue 15).
    DynamoDB does neither: a cancelled transaction leaves no trace and the stream stays. So
    the table is never copied (moto's backup step is handed the table itself) and each item
    the transaction names is remembered as it was; on any failure they are put back as they
    were, without stream records, and the records the transaction's earlier items appended
    are removed. No reader can have seen those records, because the streams API is
    serialised with the writes.
    """
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    transact = DynamoDBBackend.transact_write_items
    real_copy = models.copy

    class TablesAreNotCopied:
        """`copy` as moto's transaction sees it: tables are kept, anything else is copied."""

        @staticmethod
        def deepcopy(value, memo=None):
            if isinstance(value, Table):
                return value
            return real_copy.deepcopy(value, memo)

        copy = staticmethod(real_copy.copy)

    def key_of(table, attributes):
        if table.hash_key_attr not in attributes:
            return None
        hash_value = DynamoType(attributes[table.hash_key_attr])
        if table.range_key_attr is None:
            return hash_value, None
        if table.range_key_attr not in attributes:
            return None
        return hash_value, DynamoType(attributes[table.range_key_attr])

    def put_back(table, hash_value, range_value, previous):
        if range_value is None:
            if previous is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = previous
            return
        bucket = table.items[hash_value]
        if previous is None:
            bucket.pop(range_value, None)
            if not bucket:
                table.items.pop(hash_value, None)
        else:
            bucket[range_value] = previous

    def item_by_item(backend, transact_items):
        before = []
        shards = {}
        for entry in transact_items:
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = key_of(table, op.get("Item") or op.get("Key") or {})
            if key is None:
                continue
            previous = table.get_item(*key)
            before.append((table, key, real_copy.deepcopy(previous)))
            if table.stream_shard is not None and table.name not in shards:
                shards[table.name] = (table.stream_shard, len(table.stream_shard.items))
        models.copy = TablesAreNotCopied
        try:
            return transact(backend, transact_items)
        except Exception:
            for table, (hash_value, range_value), previous in reversed(before):
                put_back(table, hash_value, range_value, previous)
            for shard, length in shards.values():
                del shard.items[length:]
            raise
        finally:
            models.copy = real_copy

    DynamoDBBackend.transact_write_items = item_by_item


def shard_lineage_as_dynamodb_streams_has_it() -> None:
    """Gives a table's stream the shard lineage DynamoDB Streams has, so that a split can be
    made on request (`StreamShards`).

    moto gives every stream one shard, forever. DynamoDB closes a stream's shards (roughly
    every four hours, and as its partitions split) and opens child shards: the parent keeps its
    records, readable until they are trimmed 24 hours later; new writes go to the child.
    `DescribeStream` lists both, the closed one with an `EndingSequenceNumber` and the child
    with a `ParentShardId`; a `GetRecords` that reaches a closed shard's end answers without a
    `NextShardIterator`; a shard trimmed from the stream is no longer listed, a
    `GetShardIterator` for it is `ResourceNotFoundException` and a `GetRecords` with one of its
    iterators `TrimmedDataAccessException`. Here:
    - `split_stream_shard` closes a table's open shard at its last record and opens a child
      whose sequence numbers continue after it;
    - `trim_closed_shards` takes the closed shards out of the stream;
    - the streams API (`DescribeStream`, `GetShardIterator`, `GetRecords`) answers for every
      shard of the lineage as above. A stream never split answers as moto does.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    to_json = StreamShard.to_json

    def with_lineage(shard):
        answer = to_json(shard)
        parent = getattr(shard, "roster_parent", None)
        if parent is not None:
            answer["ParentShardId"] = parent
        ending = getattr(shard, "roster_ending", None)
        if ending is not None:
            answer["SequenceNumberRange"]["EndingSequenceNumber"] = str(ending)
        return answer

    StreamShard.to_json = with_lineage

    describe = DynamoDBStreamsBackend.describe_stream

    def every_shard(backend, arn):
        stream = describe(backend, arn)
        table = backend._get_table_from_arn(arn)
        if table.stream_shard is not None:
            shards = stream_shards(table)
            stream["Shards"] = [shard.to_json() for shard in shards]
            stream["CreationRequestDateTime"] = min(shard.created_on for shard in shards)
        return stream

    def shard_iterator(backend, arn, shard_id, shard_iterator_type, sequence_number=None):
        table = backend._get_table_from_arn(arn)
        shard = next(
            (shard for shard in stream_shards(table) if shard.id == shard_id),
            None,
        )
        if shard is None:
            raise JsonRESTError(
                "ResourceNotFoundException",
                f"Requested resource not found: Shard {shard_id} does not exist in stream {arn}",
            )
        ending = getattr(shard, "roster_ending", None)
        if sequence_number is not None and (
            sequence_number < shard.starting_sequence_number
            or (ending is not None and sequence_number > ending)
        ):
            raise JsonRESTError(
                "ValidationException",
                f"Invalid SequenceNumber {sequence_number} for shard {shard_id}",
            )
        iterator = ShardIterator(backend, shard, shard_iterator_type, sequence_number)
        backend.shard_iterators[iterator.arn] = iterator
        return iterator

    get = ShardIterator.get

    def ends_where_the_shard_ends(iterator, limit=1000):
        shard = iterator.stream_shard
        if getattr(shard, "roster_trimmed", False):
            raise JsonRESTError(
                "TrimmedDataAccessException",
                f"The records of shard {shard.id} were trimmed from the stream",
            )
        answer = get(iterator, limit)
        ending = getattr(shard, "roster_ending", None)
        if ending is not None:
            records = answer["Records"]
            position = (
                int(records[-1]["dynamodb"]["SequenceNumber"]) + 1
                if records
                else iterator.sequence_number
            )
            if position > ending:
                next_iterator = answer.pop("NextShardIterator", None)
                iterator.streams_backend.shard_iterators.pop(next_iterator, None)
        return answer

    DynamoDBStreamsBackend.describe_stream = every_shard
    DynamoDBStreamsBackend.get_shard_iterator = shard_iterator
    ShardIterator.get = ends_where_the_shard_ends


def stream_shards(table) -> list:
    """A table's stream shards still in the stream, parents before children."""
    closed = [s for s in getattr(table, "roster_closed_shards", []) if not s.roster_trimmed]
    return closed + [table.stream_shard]


def split_stream_shard(table) -> dict:
    """Closes the table's open stream shard at its last record and opens its child."""
    import time

    from moto.dynamodb.models.table import StreamShard

    parent = table.stream_shard
    ending = parent.starting_sequence_number + max(len(parent.items), 1) - 1
    child = StreamShard(table.account_id, table)
    child.id = f"shardId-{int(time.time() * 1000):020d}-{os.urandom(4).hex()}"
    child.starting_sequence_number = ending + 1
    child.roster_parent = parent.id
    parent.roster_ending = ending
    parent.roster_trimmed = False
    table.roster_closed_shards = getattr(table, "roster_closed_shards", []) + [parent]
    table.stream_shard = child
    return {"closed": parent.id, "endingSequenceNumber": str(ending), "opened": child.id}


def trim_closed_shards(table) -> dict:
    """Takes the table's closed shards out of its stream, as their trimming does."""
    trimmed = []
    for shard in getattr(table, "roster_closed_shards", []):
        if not shard.roster_trimmed:
            shard.roster_trimmed = True
            trimmed.append(shard.id)
    table.roster_closed_shards = []
    return {"trimmed": trimmed}


def keep_every_part_of_sent_mail() -> None:
    """Keeps both bodies of a mail sent with SES v2 `SendEmail` (`Simple` content), and when.

    moto keeps one body per message (the HTML one when there are both) and no time; the
    mailbox (see `Mailbox`) shows the text body and the HTML body, newest last.
    """
    import time

    from moto.ses.models import SESBackend
    from moto.sesv2.responses import SESV2Response

    for method in ("send_email", "send_raw_email"):
        original = getattr(SESBackend, method)

        def timed(backend, *args, _original=original, **kwargs):
            message = _original(backend, *args, **kwargs)
            message.roster_sent_at = time.time()
            return message

        setattr(SESBackend, method, timed)

    send = SESV2Response.send_email

    def both_bodies(response):
        answer = send(response)
        simple = (json.loads(response.body).get("Content") or {}).get("Simple")
        if simple:
            message_id = json.loads(answer)["MessageId"]
            body = simple.get("Body") or {}
            for message in reversed(response.sesv2_backend.core_backend.sent_messages):
                if message.id == message_id:
                    message.roster_text = (body.get("Text") or {}).get("Data")
                    message.roster_html = (body.get("Html") or {}).get("Data")
                    break
        return answer

    SESV2Response.send_email = both_bodies


def cognito_mail_through_ses() -> None:
    """Sends Cognito's own mail (a password-reset code) through the pool's SES identity, as
    Cognito does for a pool whose `EmailConfiguration` is `DEVELOPER` with a `SourceArn`.

    moto sends nothing and hands the code back in a response header. Here the code is also
    mailed, from the identity the pool names (refused like any SES mail if that identity is
    not verified), so it shows in the local mailbox. The code is moto's own
    (`moto-confirmation-code:NNNNNN`), which its ConfirmForgotPassword checks exactly.
    """
    from moto.ses.models import ses_backends

    backend_class = cognitoidp.CognitoIdpBackend
    forgot = backend_class.forgot_password

    def mailed(backend, client_id, username):
        code, response = forgot(backend, client_id, username)
        if not code:
            return code, response
        for pool in backend.user_pools.values():
            if client_id not in pool.clients:
                continue
            config = pool.extended_config.get("EmailConfiguration") or {}
            source_arn = config.get("SourceArn") or ""
            user = pool._get_user(username)
            email = next(
                (a["Value"] for a in (user.attributes if user else []) if a["Name"] == "email"),
                None,
            )
            if config.get("EmailSendingAccount") != "DEVELOPER" or not source_arn or not email:
                break
            _, _, _, region, account, identity = source_arn.split(":", 5)
            sender = config.get("From") or "no-reply@" + identity.split("/", 1)[-1]
            ses_backends[account][region].send_email(
                source=sender,
                subject="Your password reset code",
                body=f"Your password reset code is {code}",
                destinations={"ToAddresses": [email]},
            )
            break
        return code, response

    backend_class.forgot_password = mailed


class Mailbox:
    """`GET /_roster/mailbox` (read-only): every mail SES accepted on this endpoint, oldest
    first, as JSON `{"messages": [{"id", "from", "to", "subject", "text", "html", "sentAt",
    "region"}]}`; `?to=ADDRESS` keeps the mail to that address (compared without case). SES on
    moto sends nothing anywhere: this is how the local stack shows what would have been sent.
    """

    PATH = "/_roster/mailbox"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET")])
            return [b""]
        from urllib.parse import parse_qs

        query = parse_qs(environ.get("QUERY_STRING", ""))
        wanted = (query.get("to") or [""])[0].strip().lower()
        messages = [
            message
            for message in self.messages()
            if not wanted or wanted in [address.lower() for address in message["to"]]
        ]
        body = json.dumps({"messages": messages}).encode("utf-8")
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def messages():
        import email
        from email.utils import getaddresses

        from moto.ses.models import ses_backends

        found = []
        for _, regions in list(ses_backends.items()):
            for region, backend in list(regions.items()):
                for message in list(backend.sent_messages):
                    found.append(Mailbox.describe(message, region, email, getaddresses))
        found.sort(key=lambda message: message["sentAt"] or 0)
        return found

    @staticmethod
    def describe(message, region, email, getaddresses):
        raw = getattr(message, "raw_data", None)
        text = getattr(message, "roster_text", None)
        html = getattr(message, "roster_html", None)
        subject = getattr(message, "subject", None)
        if raw is not None:
            parsed = email.message_from_string(raw)
            subject = parsed.get("Subject")
            for part in parsed.walk():
                kind = part.get_content_type()
                if kind in ("text/plain", "text/html"):
                    content = part.get_payload(decode=True).decode(
                        part.get_content_charset() or "utf-8", "replace"
                    )
                    if kind == "text/plain" and text is None:
                        text = content
                    if kind == "text/html" and html is None:
                        html = content
            destinations = message.destinations
        else:
            destinations = [
                address for addresses in message.destinations.values() for address in addresses
            ]
            if text is None and html is None:
                text = message.body
        return {
            "id": message.id,
            "from": message.source,
            "to": [address for _, address in getaddresses(destinations) if address],
            "subject": subject,
            "text": text,
            "html": html,
            "sentAt": getattr(message, "roster_sent_at", None),
            "region": region,
        }


class StreamShards:
    """`POST /_roster/streams/split?table=NAME` closes the open shard of the table's stream and
    opens its child (`split_stream_shard`): what DynamoDB Streams does every few hours, on
    demand. `POST /_roster/streams/trim?table=NAME` takes the closed shards out of the stream,
    as their 24-hour retention does (`trim_closed_shards`). Each answers JSON, one object per
    table of that name (in any account and region), or 404 if no such table has a stream.
    Both take the DynamoDB lock (`SerialiseDynamoDB`), so no write or read is cut in two.
    """

    ACTIONS = {
        "/_roster/streams/split": split_stream_shard,
        "/_roster/streams/trim": trim_closed_shards,
    }

    def __init__(self, app, lock):
        self.app = app
        self.lock = lock

    def __call__(self, environ, start_response):
        action = self.ACTIONS.get(environ.get("PATH_INFO"))
        if action is None:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            start_response("405 Method Not Allowed", [("Allow", "POST")])
            return [b""]
        from urllib.parse import parse_qs

        from moto.dynamodb.models import dynamodb_backends

        name = (parse_qs(environ.get("QUERY_STRING", "")).get("table") or [""])[0]
        with self.lock:
            tables = [
                backend.tables[name]
                for _, regions in list(dynamodb_backends.items())
                for _, backend in list(regions.items())
                if name in backend.tables and backend.tables[name].stream_shard is not None
            ]
            done = [action(table) for table in tables]
        status = "200 OK" if done else "404 Not Found"
        body = json.dumps(
            {"tables": done} if done else {"message": f"no table {name!r} with a stream"}
        ).encode("utf-8")
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


class SerialiseDynamoDB:
    """Runs DynamoDB requests one at a time.

    moto applies TransactWriteItems item by item and, on failure, restores a deep copy of the
    whole table, with no lock: two concurrent transactions (or a transaction and a plain write)
    can each undo the other's writes. DynamoDB makes every request atomic; serialising
    DynamoDB's requests gives the local endpoint the same guarantee. The streams API
    (`DynamoDBStreams_…`) shares the lock, so a reader never sees a transaction half applied.
    Other services (SQS long polls above all) stay concurrent.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(("DynamoDB_", "DynamoDBStreams_")):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main() -> None:
    sign_out_under_every_name()
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    # One line per request (the pollers make several a second) would bury the errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    refuse_unknown_tokens_and_users_as_cognito_does()
    file_sessions_under_the_username()
    # In this order: the client's WriteAttributes are checked against the whole update.
    hold_email_changes_until_verified()
    refuse_writes_outside_the_clients_write_attributes()
    software_tokens_as_cognito_does()
    roll_back_transactions_item_by_item()
    keep_every_part_of_sent_mail()
    cognito_mail_through_ses()
    shard_lineage_as_dynamodb_streams_has_it()
    serialised = SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))
    app = Mailbox(StreamShards(serialised, serialised.lock))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    bound = server.server_address[1]
    os.environ["MOTO_PORT"] = str(bound)

    def exit_when_parent_goes() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    print(json.dumps({"port": bound}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
