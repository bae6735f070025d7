
# nothing here

