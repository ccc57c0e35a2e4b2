"""The fastapi-users side of authtoken's MongoDB interop test.

Uses fastapi-users' own DatabaseStrategy (fastapi-users 15) over fastapi-users-db-beanie 5's
BeanieAccessTokenDatabase, on Beanie 2 and pymongo's asyncio client, as a FastAPI service with
MongoDB would: the `AccessToken` collection, ObjectId user ids. Tokens travel on standard input,
never in argv.

    python fastapi_users_beanie_side.py login URL DATABASE USER_ID LIFETIME_S          -> a new token
    python fastapi_users_beanie_side.py read URL DATABASE USER_ID LIFETIME_S  < TOKEN  -> the user's id, or "none"
    python fastapi_users_beanie_side.py logout URL DATABASE USER_ID           < TOKEN
    python fastapi_users_beanie_side.py created URL DATABASE                  < TOKEN  -> created_at (ISO 8601), or "none"

The user store knows the one user USER_ID, so a token that names another id reads as "none".
"""

import asyncio
import sys
from dataclasses import dataclass

from beanie import PydanticObjectId, init_beanie
from fastapi_users import BaseUserManager
from fastapi_users.authentication.strategy.db import DatabaseStrategy
from fastapi_users_db_beanie import ObjectIDIDMixin
from fastapi_users_db_beanie.access_token import (
    BeanieAccessTokenDatabase,
    BeanieBaseAccessTokenDocument,
)
from pymongo import AsyncMongoClient


class AccessToken(BeanieBaseAccessTokenDocument):
    pass


@dataclass
class User:
    id: PydanticObjectId
    email: str = "user@example.com"
    is_active: bool = True


class OneUserDatabase:
    """fastapi-users' user database protocol, reduced to the lookup read_token makes."""

    def __init__(self, user: User):
        self.user = user

    async def get(self, id: PydanticObjectId):
        return self.user if id == self.user.id else None


class UserManager(ObjectIDIDMixin, BaseUserManager[User, PydanticObjectId]):
    reset_password_token_secret = "unused"
    verification_token_secret = "unused"


async def main(command: str, url: str, database: str, *args: str) -> None:
    client = AsyncMongoClient(url, tz_aware=True)
    try:
        await init_beanie(database=client[database], document_models=[AccessToken])
        tokens = BeanieAccessTokenDatabase(AccessToken)
        if command == "created":
            found = await AccessToken.find_one({"token": sys.stdin.readline().strip()})
            print("none" if found is None else found.created_at.isoformat())
            return
        user = User(id=PydanticObjectId(args[0]))
        lifetime = int(args[1]) if len(args) > 1 else None
        strategy = DatabaseStrategy(tokens, lifetime_seconds=lifetime)
        if command == "login":
            print(await strategy.write_token(user))
            return
        token = sys.stdin.readline().strip()
        if command == "read":
            found = await strategy.read_token(token, UserManager(OneUserDatabase(user)))
            print(found.id if found else "none")
        elif command == "logout":
            await strategy.destroy_token(token, user)
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
