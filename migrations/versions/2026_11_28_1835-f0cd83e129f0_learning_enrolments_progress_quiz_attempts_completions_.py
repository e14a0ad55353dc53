"""learning: enrolments, progress, quiz attempts, completions, credentials

Revision ID: f0cd83e129f0
Revises: 9e6c8ecbda61
Create Date: 2026-11-28 18:35:34.562444

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0cd83e129f0'
down_revision = '9e6c8ecbda61'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'completed', 'withdrawn', 'expired', name='enrolmentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('source', sa.Enum('lti', 'trainer', 'csv', 'api', 'cli', 'demo', name='enrolmentsource', native_enum=False, length=20), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enrolled_by_id', sa.Integer(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_by_id', sa.Integer(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_module_key', sa.String(length=100), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attendance_percent', sa.Integer(), nullable=True),
    sa.Column('attendance_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_enrolments_course_id_courses')),
    sa.ForeignKeyConstraint(['enrolled_by_id'], ['people.id'], name=op.f('fk_enrolments_enrolled_by_id_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_enrolments_person_id_people')),
    sa.ForeignKeyConstraint(['version_id'], ['course_versions.id'], name=op.f('fk_enrolments_version_id_course_versions')),
    sa.ForeignKeyConstraint(['status_changed_by_id'], ['people.id'], name=op.f('fk_enrolments_status_changed_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('person_id', 'course_id', name=op.f('uq_enrolments_person_id_course_id'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrolments_version_id'), ['version_id'], unique=False)

    op.create_table('completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('learner_name', sa.String(length=200), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('agency', sa.Enum('management_authority', 'scientific_authority', 'customs', 'enforcement', 'judiciary', 'other', name='agency', native_enum=False, length=40), nullable=True),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('course_version_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('waived', sa.Boolean(), nullable=False),
    sa.Column('waived_modules', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_completions_course_id_courses')),
    sa.ForeignKeyConstraint(['course_version_id'], ['course_versions.id'], name=op.f('fk_completions_course_version_id_course_versions')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_completions_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_completions_party_id_parties')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_completions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_completions')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_completions_enrolment_id'))
    )
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_completions_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_completions_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_completions_course_version_id'), ['course_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_completions_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_completions_person_id'), ['person_id'], unique=False)

    op.create_table('module_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('best_score', sa.Float(), nullable=True),
    sa.Column('passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_module_progress_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['course_modules.id'], name=op.f('fk_module_progress_module_id_course_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_module_progress')),
    sa.UniqueConstraint('enrolment_id', 'module_id', name=op.f('uq_module_progress_enrolment_id_module_id'))
    )
    with op.batch_alter_table('module_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_module_progress_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_module_progress_module_id'), ['module_id'], unique=False)

    op.create_table('quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('language', sa.String(length=12), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_quiz_attempts_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['course_modules.id'], name=op.f('fk_quiz_attempts_module_id_course_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempts')),
    sa.UniqueConstraint('enrolment_id', 'module_id', 'number', name=op.f('uq_quiz_attempts_enrolment_id_module_id_number'))
    )
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempts_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_attempts_module_id'), ['module_id'], unique=False)

    op.create_table('waivers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('waived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waived_by_id', sa.Integer(), nullable=True),
    sa.Column('waived_by_label', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_waivers_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['course_modules.id'], name=op.f('fk_waivers_module_id_course_modules')),
    sa.ForeignKeyConstraint(['waived_by_id'], ['people.id'], name=op.f('fk_waivers_waived_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waivers'))
    )
    with op.batch_alter_table('waivers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waivers_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('badge_uuid', sa.String(length=36), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['completion_id'], ['completions.id'], name=op.f('fk_credentials_completion_id_completions')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['people.id'], name=op.f('fk_credentials_revoked_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('badge_uuid', name=op.f('uq_credentials_badge_uuid')),
    sa.UniqueConstraint('code', name=op.f('uq_credentials_code')),
    sa.UniqueConstraint('completion_id', name=op.f('uq_credentials_completion_id'))
    )


def downgrade():
    op.drop_table('credentials')
    with op.batch_alter_table('waivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waivers_enrolment_id'))

    op.drop_table('waivers')
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_module_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_enrolment_id'))

    op.drop_table('quiz_attempts')
    with op.batch_alter_table('module_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_module_progress_module_id'))
        batch_op.drop_index(batch_op.f('ix_module_progress_enrolment_id'))

    op.drop_table('module_progress')
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completions_person_id'))
        batch_op.drop_index(batch_op.f('ix_completions_party_id'))
        batch_op.drop_index(batch_op.f('ix_completions_course_version_id'))
        batch_op.drop_index(batch_op.f('ix_completions_course_id'))
        batch_op.drop_index(batch_op.f('ix_completions_completed_at'))

    op.drop_table('completions')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_version_id'))
        batch_op.drop_index(batch_op.f('ix_enrolments_person_id'))
        batch_op.drop_index(batch_op.f('ix_enrolments_course_id'))

    op.drop_table('enrolments')
