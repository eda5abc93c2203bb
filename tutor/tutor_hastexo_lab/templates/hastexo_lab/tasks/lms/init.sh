# hastexo_lab: its tables (the block's settings are checked as the LMS starts)
./manage.py lms migrate hastexo_lab
