"""The fastapi-users side of authtoken's interop tests.

Uses fastapi-users' own models (SQLAlchemyBaseUserTableUUID, SQLAlchemyBaseAccessTokenTableUUID:
the `user` and `accesstoken` tables) and its own DatabaseStrategy over
SQLAlchemyAccessTokenDatabase, exactly as a FastAPI service would.

    python fastapi_users_side.py setup URL
    python fastapi_users_side.py create-user URL EMAIL        -> prints the user's id
    python fastapi_users_side.py login URL USER_ID            -> prints a new token
    python fastapi_users_side.py read URL TOKEN LIFETIME_S    -> prints the user's id, or "none"
    python fastapi_users_side.py backdate URL TOKEN SECONDS   -> moves the token's created_at back

URL is an SQLAlchemy async URL (sqlite+aiosqlite:///FILE, postgresql+asyncpg://...).
"""

import asyncio
import sys
import uuid
from datetime import datetime, timedelta, timezone

from fastapi_users import BaseUserManager, UUIDIDMixin
from fastapi_users.authentication.strategy.db import DatabaseStrategy
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users_db_sqlalchemy.access_token import (
    SQLAlchemyAccessTokenDatabase,
    SQLAlchemyBaseAccessTokenTableUUID,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class AccessToken(SQLAlchemyBaseAccessTokenTableUUID, Base):
    pass


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = "unused"
    verification_token_secret = "unused"


async def main(command: str, url: str, *args: str) -> None:
    engine = create_async_engine(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        if command == "setup":
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
            return
        async with sessions() as session:
            users = SQLAlchemyUserDatabase(session, User)
            tokens = SQLAlchemyAccessTokenDatabase(session, AccessToken)
            if command == "create-user":
                user = await users.create(
                    {"email": args[0], "hashed_password": "unused", "is_active": True}
                )
                print(user.id)
            elif command == "login":
                user = await users.get(uuid.UUID(args[0]))
                print(await DatabaseStrategy(tokens, 3600).write_token(user))
            elif command == "read":
                strategy = DatabaseStrategy(tokens, int(args[1]))
                user = await strategy.read_token(args[0], UserManager(users))
                print(user.id if user else "none")
            elif command == "backdate":
                row = await session.scalar(select(AccessToken).where(AccessToken.token == args[0]))
                row.created_at = datetime.now(timezone.utc) - timedelta(seconds=int(args[1]))
                await session.commit()
            else:
                raise SystemExit(f"unknown command {command}")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
