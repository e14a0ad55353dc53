"""core: signing keys per purpose (LTI, credentials)

Revision ID: d708fd2539bd
Revises: 1fd25b0f4f42
Create Date: 2026-11-28 18:28:59.591457

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd708fd2539bd'
down_revision = '1fd25b0f4f42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signing_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('lti', 'credentials', name='keypurpose', native_enum=False, length=20), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=10), nullable=False),
    sa.Column('private_pem', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_signing_keys_kid'))
    )
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_keys_purpose'), ['purpose'], unique=False)



def downgrade():
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_keys_purpose'))

    op.drop_table('signing_keys')
