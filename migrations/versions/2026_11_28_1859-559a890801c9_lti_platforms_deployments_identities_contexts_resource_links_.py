"""lti: platforms, deployments, identities, contexts, resource links, launches, AGS outbox

The tool's signing keys are core's signing_keys (purpose "lti").

Revision ID: 559a890801c9
Revises: f0cd83e129f0
Create Date: 2026-11-28 18:59:42.509414

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '559a890801c9'
down_revision = 'f0cd83e129f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lti_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_launch_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_lti_identities_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_lti_identities_issuer_subject'))
    )
    with op.batch_alter_table('lti_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_identities_person_id'), ['person_id'], unique=False)

    op.create_table('lti_platforms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('auth_login_url', sa.String(length=1000), nullable=False),
    sa.Column('auth_token_url', sa.String(length=1000), nullable=False),
    sa.Column('key_set_url', sa.String(length=1000), nullable=False),
    sa.Column('auth_audience', sa.String(length=1000), nullable=True),
    sa.Column('status', sa.Enum('pending', 'active', 'disabled', name='platformstatus', native_enum=False, length=20), nullable=False),
    sa.Column('registered_via', sa.String(length=20), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('key_set', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('key_set_fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extra_frame_origins', sa.JSON(), nullable=False),
    sa.Column('last_unlisted_origin', sa.String(length=255), nullable=True),
    sa.Column('last_unlisted_origin_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['people.id'], name=op.f('fk_lti_platforms_approved_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id'))
    )
    with op.batch_alter_table('lti_platforms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_platforms_issuer'), ['issuer'], unique=False)

    op.create_table('lti_deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_deployments_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_deployments')),
    sa.UniqueConstraint('platform_id', 'deployment_id', name=op.f('uq_lti_deployments_platform_id_deployment_id'))
    )
    op.create_table('lti_contexts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('memberships_url', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_launch_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['lti_deployments.id'], name=op.f('fk_lti_contexts_deployment_id_lti_deployments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_contexts')),
    sa.UniqueConstraint('deployment_id', 'context_id', name=op.f('uq_lti_contexts_deployment_id_context_id'))
    )
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_contexts_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('lti_resource_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.Integer(), nullable=True),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('course_slug', sa.String(length=120), nullable=True),
    sa.Column('lineitem_url', sa.String(length=1000), nullable=True),
    sa.Column('lineitems_url', sa.String(length=1000), nullable=True),
    sa.Column('ags_scopes', sa.JSON(), nullable=False),
    sa.Column('found_lineitem_url', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_launch_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['context_id'], ['lti_contexts.id'], name=op.f('fk_lti_resource_links_context_id_lti_contexts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deployment_id'], ['lti_deployments.id'], name=op.f('fk_lti_resource_links_deployment_id_lti_deployments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_resource_links')),
    sa.UniqueConstraint('deployment_id', 'resource_link_id', name=op.f('uq_lti_resource_links_deployment_id_resource_link_id'))
    )
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_resource_links_context_id'), ['context_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_resource_links_course_slug'), ['course_slug'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_resource_links_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('lti_ags_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('resource_link_id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('course_slug', sa.String(length=120), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('activity_progress', sa.String(length=20), nullable=False),
    sa.Column('grading_progress', sa.String(length=20), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'superseded', name='outboxstatus', native_enum=False, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['lti_identities.id'], name=op.f('fk_lti_ags_outbox_identity_id_lti_identities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_lti_ags_outbox_person_id_people')),
    sa.ForeignKeyConstraint(['resource_link_id'], ['lti_resource_links.id'], name=op.f('fk_lti_ags_outbox_resource_link_id_lti_resource_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_ags_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_lti_ags_outbox_dedupe_key'))
    )
    with op.batch_alter_table('lti_ags_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_ags_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_ags_outbox_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_ags_outbox_resource_link_id'), ['resource_link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_ags_outbox_status'), ['status'], unique=False)

    op.create_table('lti_launches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=100), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('login_params', sa.JSON(), nullable=False),
    sa.Column('storage_target', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('launch_id', sa.String(length=100), nullable=True),
    sa.Column('message_type', sa.String(length=60), nullable=True),
    sa.Column('launch_data', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('data_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('resource_link_id', sa.Integer(), nullable=True),
    sa.Column('storage_secret', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_lti_launches_person_id_people')),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_launches_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_link_id'], ['lti_resource_links.id'], name=op.f('fk_lti_launches_resource_link_id_lti_resource_links'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_launches')),
    sa.UniqueConstraint('launch_id', name=op.f('uq_lti_launches_launch_id')),
    sa.UniqueConstraint('nonce', name=op.f('uq_lti_launches_nonce')),
    sa.UniqueConstraint('state', name=op.f('uq_lti_launches_state'))
    )
    with op.batch_alter_table('lti_launches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_launches_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_launches_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_launches_platform_id'), ['platform_id'], unique=False)

    op.create_table('lti_resource_link_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_link_id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('first_launch_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_launch_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('learner', sa.Boolean(), nullable=False),
    sa.Column('instructor', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['lti_identities.id'], name=op.f('fk_lti_resource_link_members_identity_id_lti_identities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_link_id'], ['lti_resource_links.id'], name=op.f('fk_lti_resource_link_members_resource_link_id_lti_resource_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_resource_link_members')),
    sa.UniqueConstraint('resource_link_id', 'identity_id', name=op.f('uq_lti_resource_link_members_resource_link_id_identity_id'))
    )
    with op.batch_alter_table('lti_resource_link_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_resource_link_members_identity_id'), ['identity_id'], unique=False)



def downgrade():
    with op.batch_alter_table('lti_resource_link_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_resource_link_members_identity_id'))

    op.drop_table('lti_resource_link_members')
    with op.batch_alter_table('lti_launches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_launches_platform_id'))
        batch_op.drop_index(batch_op.f('ix_lti_launches_person_id'))
        batch_op.drop_index(batch_op.f('ix_lti_launches_expires_at'))

    op.drop_table('lti_launches')
    with op.batch_alter_table('lti_ags_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_ags_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_lti_ags_outbox_resource_link_id'))
        batch_op.drop_index(batch_op.f('ix_lti_ags_outbox_person_id'))
        batch_op.drop_index(batch_op.f('ix_lti_ags_outbox_next_attempt_at'))

    op.drop_table('lti_ags_outbox')
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_deployment_id'))
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_course_slug'))
        batch_op.drop_index(batch_op.f('ix_lti_resource_links_context_id'))

    op.drop_table('lti_resource_links')
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_contexts_deployment_id'))

    op.drop_table('lti_contexts')
    op.drop_table('lti_deployments')
    with op.batch_alter_table('lti_platforms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_platforms_issuer'))

    op.drop_table('lti_platforms')
    with op.batch_alter_table('lti_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_identities_person_id'))

    op.drop_table('lti_identities')
