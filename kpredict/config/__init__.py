"""kpredict.config"""
