"""The fastapi-users side of authtoken's Redis interop test.

Uses fastapi-users' own RedisStrategy (fastapi-users 15) over redis-py's asyncio client, created
with decode_responses=True as fastapi-users' documentation says, exactly as a FastAPI service
would. Tokens travel on standard input, never in argv.

    python fastapi_users_redis_side.py login URL PREFIX USER_ID LIFETIME_S  -> prints a new token
    python fastapi_users_redis_side.py read URL PREFIX USER_ID    < TOKEN   -> the user's id, or "none"
    python fastapi_users_redis_side.py logout URL PREFIX USER_ID  < TOKEN
    python fastapi_users_redis_side.py inspect URL PREFIX         < TOKEN   -> "VALUE TTL_S", or "none"

The user store knows the one user USER_ID, so a token that names another id reads as "none".
"""

import asyncio
import sys
import uuid
from dataclasses import dataclass

import redis.asyncio
from fastapi_users import BaseUserManager, UUIDIDMixin
from fastapi_users.authentication.strategy.redis import RedisStrategy


@dataclass
class User:
    id: uuid.UUID
    email: str = "user@example.com"
    is_active: bool = True


class OneUserDatabase:
    """fastapi-users' user database protocol, reduced to the lookup read_token makes."""

    def __init__(self, user: User):
        self.user = user

    async def get(self, id: uuid.UUID):
        return self.user if id == self.user.id else None


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = "unused"
    verification_token_secret = "unused"


async def main(command: str, url: str, prefix: str, *args: str) -> None:
    client = redis.asyncio.from_url(url, decode_responses=True)
    try:
        if command == "inspect":
            key = prefix + sys.stdin.readline().strip()
            value = await client.get(key)
            print("none" if value is None else f"{value} {await client.ttl(key)}")
            return
        user = User(id=uuid.UUID(args[0]))
        if command == "login":
            strategy = RedisStrategy(client, lifetime_seconds=int(args[1]), key_prefix=prefix)
            print(await strategy.write_token(user))
            return
        strategy = RedisStrategy(client, key_prefix=prefix)
        token = sys.stdin.readline().strip()
        if command == "read":
            found = await strategy.read_token(token, UserManager(OneUserDatabase(user)))
            print(found.id if found else "none")
        elif command == "logout":
            await strategy.destroy_token(token, user)
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
