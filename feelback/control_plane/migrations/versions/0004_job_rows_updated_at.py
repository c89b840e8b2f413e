"""Recap deliveries and export requests record when they last changed (``updated_at``), so the
warehouse replicates only the rows changed since its last run. Existing rows take their last known
change: sent, finished or created.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 17:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LAST_CHANGE = {"recap_deliveries": "sent_at", "export_requests": "finished_at"}


def upgrade() -> None:
    for table, changed in LAST_CHANGE.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        op.execute(f"UPDATE {table} SET updated_at = COALESCE({changed}, created_at)")
        with op.batch_alter_table(table) as batch:
            batch.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    for table in LAST_CHANGE:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('updated_at')
