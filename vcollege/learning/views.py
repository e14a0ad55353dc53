from flask import Blueprint

import vcollege.learning.models  # noqa: F401

bp = Blueprint("learning", __name__, template_folder="templates")
