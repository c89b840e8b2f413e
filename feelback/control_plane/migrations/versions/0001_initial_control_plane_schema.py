"""Initial control-plane schema: projects, API keys, content sets, recaps, exports, erasures, triage.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 03:32:45.603010

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('projects',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('allowed_origins', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('retention_days >= 1', name=op.f('ck_projects_retention_days_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('public', 'secret', name='api_key_kind', native_enum=False, length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=20), nullable=False),
    sa.Column('last4', sa.String(length=4), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_api_keys_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_index(op.f('ix_api_keys_project_id'), 'api_keys', ['project_id'], unique=False)
    op.create_table('content_sets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('signal_type', sa.Enum('yesno', 'updown', 'rating', 'like', 'reaction', 'message', name='signal_type', native_enum=False, length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('edit_window_seconds', sa.Integer(), nullable=False),
    sa.Column('one_per_visitor', sa.Boolean(), nullable=False),
    sa.Column('public_stats', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('edit_window_seconds >= 0', name=op.f('ck_content_sets_edit_window_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_content_sets_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_sets')),
    sa.UniqueConstraint('project_id', 'key', name=op.f('uq_content_sets_project_id_key'))
    )
    op.create_index(op.f('ix_content_sets_project_id'), 'content_sets', ['project_id'], unique=False)
    op.create_table('erasure_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('visitor_id', sa.String(length=200), nullable=True),
    sa.Column('content_set', sa.String(length=40), nullable=True),
    sa.Column('content_key', sa.String(length=2048), nullable=True),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', 'expired', name='job_status', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint('visitor_id IS NOT NULL OR content_key IS NOT NULL', name=op.f('ck_erasure_requests_visitor_or_content')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_erasure_requests_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests'))
    )
    op.create_index(op.f('ix_erasure_requests_project_id'), 'erasure_requests', ['project_id'], unique=False)
    op.create_table('export_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('format', sa.Enum('csv', 'jsonl', 'parquet', name='export_format', native_enum=False, length=16), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', 'expired', name='job_status', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('path', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_export_requests_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_requests'))
    )
    op.create_index(op.f('ix_export_requests_project_id'), 'export_requests', ['project_id'], unique=False)
    op.create_table('recap_deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('period_kind', sa.Enum('weekly', 'monthly', name='recap_frequency', native_enum=False, length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='delivery_status', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_recap_deliveries_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recap_deliveries')),
    sa.UniqueConstraint('project_id', 'period_kind', 'period_start', 'recipient', name=op.f('uq_recap_deliveries_period_recipient'))
    )
    op.create_index(op.f('ix_recap_deliveries_project_id'), 'recap_deliveries', ['project_id'], unique=False)
    op.create_table('recap_subscriptions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('frequency', sa.Enum('weekly', 'monthly', name='recap_frequency', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_recap_subscriptions_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recap_subscriptions')),
    sa.UniqueConstraint('project_id', 'email', 'frequency', name=op.f('uq_recap_subscriptions_project_id_email_frequency'))
    )
    op.create_index(op.f('ix_recap_subscriptions_project_id'), 'recap_subscriptions', ['project_id'], unique=False)
    op.create_table('signal_triage',
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('signal_id', sa.String(length=36), nullable=False),
    sa.Column('state', sa.Enum('new', 'read', 'archived', name='triage_state', native_enum=False, length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_signal_triage_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'signal_id', name=op.f('pk_signal_triage'))
    )
    op.create_index(op.f('ix_signal_triage_project_id_state'), 'signal_triage', ['project_id', 'state'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_signal_triage_project_id_state'), table_name='signal_triage')
    op.drop_table('signal_triage')
    op.drop_index(op.f('ix_recap_subscriptions_project_id'), table_name='recap_subscriptions')
    op.drop_table('recap_subscriptions')
    op.drop_index(op.f('ix_recap_deliveries_project_id'), table_name='recap_deliveries')
    op.drop_table('recap_deliveries')
    op.drop_index(op.f('ix_export_requests_project_id'), table_name='export_requests')
    op.drop_table('export_requests')
    op.drop_index(op.f('ix_erasure_requests_project_id'), table_name='erasure_requests')
    op.drop_table('erasure_requests')
    op.drop_index(op.f('ix_content_sets_project_id'), table_name='content_sets')
    op.drop_table('content_sets')
    op.drop_index(op.f('ix_api_keys_project_id'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_table('projects')
